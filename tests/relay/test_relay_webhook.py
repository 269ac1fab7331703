"""The HTTPS webhook against a real uvicorn server that checks the HMAC and the idempotency key."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.relay.message import PoliceCode
from edge.relay.service import Relay
from edge.store import Database
from tests.peers.sia_receiver import free_port
from tests.relay.relay_support import Emitted, depth, message, police, running, submit, until

SECRET = "s3cret-shared-with-the-platform"


class Platform:
    """A police platform's HTTP intake: verifies every request, answers from a script, de-duplicates."""

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.accepted: dict[str, dict[str, Any]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        ok_sig = hmac.compare_digest(headers.get("x-edge-signature", ""), expected)
        doc = json.loads(body)
        self.requests.append({"key": headers.get("idempotency-key"), "sig_ok": ok_sig, "body": doc})
        status = 401 if not ok_sig else (self.script.pop(0) if self.script else 200)
        if status == 200 and headers.get("idempotency-key") != doc["event_id"]:
            status = 422
        if status == 200:
            self.accepted.setdefault(doc["event_id"], doc)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})


@contextlib.asynccontextmanager
async def serve(app: Platform, **ssl: Any) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **ssl))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started, timeout=5)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "webhook.secret"
    p.write_text(SECRET + "\n")
    return p


async def test_5xx_then_200_is_delivered_once(db: Database, emitted: Emitted, secret_file: Path) -> None:
    app = Platform([500, 503, 200])
    async with serve(app) as port:
        cfg = police([], webhook={"url": f"http://127.0.0.1:{port}/alarm", "secret_file": secret_file})
        relay = Relay(cfg, db, emitted, "sch-1")
        m = message(5, PoliceCode.PANIC, location="南门岗亭")
        async with running(relay):
            submit(db, relay, [m], cfg)
            await until(lambda: depth(db) == 0 and len(emitted.links()) == 2, timeout=5)
    assert len(app.requests) == 3 and all(r["sig_ok"] and r["key"] == m.event_id for r in app.requests)
    assert list(app.accepted) == [m.event_id]
    body = app.accepted[m.event_id]
    assert body["site"] == "sch-1" and body["device_id"] == "btn-5" and body["location"] == "南门岗亭"
    assert body["codes"] == {"contact_id": "1120", "sia": "PA"} and body["test"] is False and body["zone"] == 5
    row = db.query("SELECT state, attempts, receiver FROM outbox")[0]
    assert row == {"state": "delivered", "attempts": 3, "receiver": f"http://127.0.0.1:{port}/alarm"}
    assert emitted.links() == [("police-webhook", "down"), ("police-webhook", "up")]


async def test_400_is_surfaced_not_retried(db: Database, emitted: Emitted, secret_file: Path) -> None:
    app = Platform([400])
    async with serve(app) as port:
        cfg = police([], webhook={"url": f"http://127.0.0.1:{port}/alarm", "secret_file": secret_file})
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1), message(2, PoliceCode.TROUBLE)], cfg)
            await until(lambda: depth(db) == 0, timeout=5)
            await asyncio.sleep(0.5)  # several retry intervals: a rejected report must not come back
            st = relay.status()
    assert len(app.requests) == 2  # the rejected one once, the next one once
    assert st["outbox"]["rejected"] == 1
    rows = db.query("SELECT state, last_error FROM outbox ORDER BY seq")
    assert rows[0]["state"] == "rejected" and "HTTP 400" in rows[0]["last_error"]
    assert rows[1]["state"] == "delivered"


def _tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    srv = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(srv_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "srv.pem", tmp_path / "srv.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        srv_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


async def test_https_verifies_against_the_configured_ca(
    db: Database, emitted: Emitted, secret_file: Path, tmp_path: Path
) -> None:
    ca_file, cert_file, key_file = _tls_files(tmp_path)
    app = Platform([])
    async with serve(app, ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as port:
        url = f"https://127.0.0.1:{port}/alarm"
        # Verification is on by default: an unknown CA is a failed (retried) send, never a silent accept.
        untrusted = police([], webhook={"url": url, "secret_file": secret_file})
        relay = Relay(untrusted, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1)], untrusted)
            await until(lambda: emitted.links() == [("police-webhook", "down")], timeout=5)
            assert depth(db) == 1 and app.requests == []
        trusted = police([], webhook={"url": url, "secret_file": secret_file, "ca_file": ca_file})
        relay = Relay(trusted, db, emitted, "sch-1")
        async with running(relay):
            await until(lambda: depth(db) == 0, timeout=5)
    assert len(app.accepted) == 1 and app.requests[0]["sig_ok"]
