"""Escalation webhooks against a real loopback HTTP server: signature, retry, give-up."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from edge.config.rules import EscalationWebhook
from edge.core.notify import ATTEMPTS, Notifier, signature
from edge.rules.actions import Notify


class Gateway:
    def __init__(self) -> None:
        self.received: list[tuple[bytes, str | None]] = []
        self.fail_first = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if gateway.fail_first > 0:
                    gateway.fail_first -= 1
                    self.send_response(503)
                else:
                    gateway.received.append((body, self.headers.get("X-Edge-Signature")))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/principal"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    thread = threading.Thread(target=g.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield g
    g.server.shutdown()
    g.server.server_close()
    thread.join(timeout=5)


BODY = {"alarm_id": "a1", "device_id": "gate-south", "severity": "emergency", "message": "一键报警"}


async def test_signed_call_after_retries(gateway: Gateway, tmp_path: Path) -> None:
    secret = tmp_path / "principal.secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    gateway.fail_first = 2
    notifier = Notifier(backoff_base_s=0.01)
    async with httpx.AsyncClient() as client:
        ok = await notifier.send(client, Notify(EscalationWebhook(url=gateway.url, secret_file=secret), BODY))
    assert ok
    [(body, sig)] = gateway.received
    assert json.loads(body) == BODY
    assert sig == signature("s3cret", body)


async def test_gives_up_after_the_last_attempt(gateway: Gateway) -> None:
    gateway.fail_first = ATTEMPTS
    notifier = Notifier(backoff_base_s=0.01)
    async with httpx.AsyncClient() as client:
        assert not await notifier.send(client, Notify(EscalationWebhook(url=gateway.url), BODY))
    assert gateway.received == []


async def test_missing_secret_is_not_sent_unsigned(gateway: Gateway, tmp_path: Path) -> None:
    notifier = Notifier(backoff_base_s=0.01)
    hook = EscalationWebhook(url=gateway.url, secret_file=tmp_path / "missing.secret")
    async with httpx.AsyncClient() as client:
        assert not await notifier.send(client, Notify(hook, BODY))
    assert gateway.received == []


async def test_run_drains_the_queue(gateway: Gateway) -> None:
    notifier = Notifier(backoff_base_s=0.01)
    for i in range(3):
        notifier.submit(Notify(EscalationWebhook(url=gateway.url), {**BODY, "alarm_id": f"a{i}"}))
    task = asyncio.create_task(notifier.run())
    try:
        async with asyncio.timeout(5):
            while len(gateway.received) < 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert sorted(json.loads(b)["alarm_id"] for b, _ in gateway.received) == ["a0", "a1", "a2"]
