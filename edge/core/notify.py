"""Escalation webhooks (e.g. the principal's phone gateway), called after the escalation is committed.

POST of a JSON body; with a `secret_file`, an `X-Edge-Signature: sha256=<hex HMAC of the body>` header.
Retried with back-off; this is a secondary path (the alarm itself is already with the police and on
the operators' board), so after the last attempt it is counted and logged, not retried forever.

httpx (about 4 MB resident with the CLI extras its package import pulls in) is loaded by `prepare()`,
which the runtime calls at start-up and on reload when the config names a webhook: never at an
escalation, and not at all on a site without webhooks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import TYPE_CHECKING

from prometheus_client import Counter

from edge.config import Config
from edge.config.secrets import SecretError, read_secret
from edge.redact import redact_url
from edge.rules.actions import Notify

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

SENT = Counter("edge_escalation_webhooks_total", "Escalation webhook calls by outcome", ["outcome"])

# 5 attempts spaced 1, 2, 4, 8 s: about 15 s, inside the EN 50136 SP6 20 s reporting time.
ATTEMPTS = 5
BACKOFF_BASE_S = 1.0
# Per call: a gateway slower than this is treated as down and retried.
CALL_TIMEOUT_S = 5.0
# Escalations are rare (a few per incident); a queue this long means the loop is stuck, so drop + count.
MAX_QUEUE = 1000


def webhooks_configured(config: Config) -> bool:
    """Whether any escalation (the alarms' own or a rule's) can call a webhook."""
    return bool(config.alarms.escalation) or any(r.then.escalate and r.then.escalate.webhooks for r in config.rules)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, backoff_base_s: float = BACKOFF_BASE_S) -> None:
        self.queue: asyncio.Queue[Notify] = asyncio.Queue(MAX_QUEUE)
        self.backoff_base_s = backoff_base_s
        self._client: httpx.AsyncClient | None = None

    def prepare(self) -> httpx.AsyncClient:
        """The HTTP client, opened (and httpx loaded) on the first call; see the module doc for when."""
        if self._client is None:
            import httpx  # noqa: PLC0415 - see the module doc

            self._client = httpx.AsyncClient(timeout=CALL_TIMEOUT_S)
        return self._client

    def submit(self, item: Notify) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            SENT.labels(outcome="dropped").inc()
            log.error("escalation webhook queue full; dropped the call for %s", item.body.get("alarm_id"))

    async def run(self) -> None:
        """Until cancelled; each call runs in the group so one slow gateway does not hold up the rest."""
        try:
            async with asyncio.TaskGroup() as tg:
                while True:
                    item = await self.queue.get()
                    # Already open when the config names webhooks; a call decided without one still goes out.
                    client = self.prepare()
                    tg.create_task(self.send(client, item), name=f"escalation-{item.body.get('alarm_id')}")
        finally:
            opened, self._client = self._client, None
            if opened is not None:
                await opened.aclose()

    async def send(self, client: httpx.AsyncClient, item: Notify) -> bool:
        from httpx import HTTPError  # noqa: PLC0415 - loaded with the client

        body = json.dumps(item.body, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            secret = read_secret(item.webhook.secret_file)
        except SecretError as exc:
            SENT.labels(outcome="secret_error").inc()
            log.error("escalation webhook %s not called: %s", redact_url(item.webhook.url), exc)
            return False
        if secret:
            headers["X-Edge-Signature"] = signature(secret, body)
        for attempt in range(ATTEMPTS):
            try:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    response = await client.post(redact_url(item.webhook.url), content=body, headers=headers)
                if response.is_success:
                    SENT.labels(outcome="ok").inc()
                    return True
                log.warning("escalation webhook %s answered %s", redact_url(item.webhook.url), response.status_code)
            except (HTTPError, TimeoutError) as exc:
                log.warning("escalation webhook %s failed: %s", redact_url(item.webhook.url), type(exc).__name__)
            if attempt + 1 < ATTEMPTS:
                await asyncio.sleep(self.backoff_base_s * 2**attempt)
        SENT.labels(outcome="failed").inc()
        log.error("escalation webhook %s gave up after %s attempts", redact_url(item.webhook.url), ATTEMPTS)
        return False
