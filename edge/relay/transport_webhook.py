"""HTTPS webhook to a police platform that takes HTTP: one POST per report, signed and idempotent.

2xx = delivered. 5xx, 408, 429, timeouts and connection errors = retry later. Any other 4xx = the
platform refused this report for good: surfaced to operators as rejected, not retried forever.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import ssl
from typing import Any

import httpx

from edge.config.police import Webhook
from edge.config.secrets import read_secret
from edge.events import iso_ms, now_ms
from edge.redact import redact_text, redact_url
from edge.relay.links import SENDS, WEBHOOK_DEVICE_ID, Link, LinkEvents, LinkState
from edge.relay.message import PoliceMessage
from edge.relay.transport import Delivery, TransportRejected, TransportRetry, Unit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Edge-Signature"  # "sha256=<hex HMAC-SHA256 of the raw body>"
_RETRYABLE_4XX = (408, 425, 429)  # timeouts and rate limits: the platform asks us to come back


class WebhookRetry(Exception):
    """Not delivered this time; try again later."""


class WebhookRejected(Exception):
    """The platform refused the report (4xx); retrying the same body cannot help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


def payload(msg: PoliceMessage, site_id: str) -> dict[str, Any]:
    return {
        "event_id": msg.event_id,
        "site": site_id,
        "device_id": msg.device_id,
        "location": msg.location,
        "zone": msg.zone,
        "kind": msg.code.name.lower(),
        "codes": {"contact_id": msg.code.cid, "sia": msg.code.sia},
        "time": iso_ms(msg.ts_ms),
        "test": msg.test,
        "coordinates": {"x": msg.coordinates[0], "y": msg.coordinates[1]} if msg.coordinates else None,
        "verify_url": msg.verify_url,
    }


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookTransport:
    name = "webhook"

    def __init__(self, config: Webhook, site_id: str, events: LinkEvents) -> None:
        self.url = config.url
        self._events = events
        # The query string may carry a platform token: status and events show the URL redacted.
        self.link = Link(redact_url(config.url), WEBHOOK_DEVICE_ID)
        self._site_id = site_id
        secret = read_secret(config.secret_file)
        self._secret = secret.encode() if secret else None
        self._verify: ssl.SSLContext | bool = config.verify_tls
        if config.verify_tls and config.ca_file is not None:
            self._verify = ssl.create_default_context(cafile=str(config.ca_file))
        self._timeout = config.timeout
        self._client: httpx.AsyncClient | None = None  # opened on first use, so a restarted relay reopens it

    async def deliver(self, message: PoliceMessage) -> Delivery:
        try:
            await self.send(message)
        except WebhookRetry as exc:
            SENDS.labels("webhook", "retry").inc()
            self.link.record_failure(now_ms())
            await self._events.set_state(self.link, LinkState.DOWN, str(exc))
            raise TransportRetry(str(exc)) from exc
        except WebhookRejected as exc:
            SENDS.labels("webhook", "rejected").inc()
            await self._events.set_state(self.link, LinkState.UP, "reachable (report rejected)")
            raise TransportRejected(str(exc)) from exc
        self.link.record_ack(now_ms())
        await self._events.set_state(self.link, LinkState.UP, "delivered")
        return Delivery(self.link.url, None)

    def settle(self, conn: sqlite3.Connection, event_id: str) -> None:
        """Nothing is kept per report: the platform de-duplicates by Idempotency-Key."""

    def units(self) -> dict[str, Unit]:
        return {}

    def status(self) -> dict[str, Any]:
        return {"webhook": self.link.as_dict()}

    async def send(self, msg: PoliceMessage) -> int:
        """POST the report; returns the HTTP status on success, raises WebhookRetry / WebhookRejected."""
        body = json.dumps(payload(msg, self._site_id), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": msg.event_id}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, verify=self._verify, follow_redirects=False)
        try:
            resp = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:  # timeouts, refused connections, TLS failures
            raise WebhookRetry(redact_text(f"{type(exc).__name__}: {exc}")) from exc
        if 200 <= resp.status_code < 300:
            return resp.status_code
        detail = resp.text[:200]
        if 400 <= resp.status_code < 500 and resp.status_code not in _RETRYABLE_4XX:
            raise WebhookRejected(resp.status_code, detail)
        raise WebhookRetry(f"HTTP {resp.status_code}: {detail}")

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
