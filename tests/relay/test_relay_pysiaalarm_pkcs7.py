"""pysiaalarm's receiver, padding its encrypted ACKs with PKCS#7 (issue #12 item 5).

pysiaalarm 3.2 zero-fills the encrypted part of its ACK in front; receivers built on a generic AES
helper (pycryptodome's `Crypto.Util.Padding.pad`, as other SIA servers do) put a PKCS#7 pad after
the timestamp instead. Here pysiaalarm's own server writes its ACKs the second way, with that very
helper: every alarm is taken at its first ACK, no resend. Before the fix (commit 9769e6f) the relay
called the decrypted ACK "not printable ASCII", marked the link down and resent the alarm again and
again while later alarms waited behind it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from Crypto.Util.Padding import pad
from prometheus_client import REGISTRY
from pysiaalarm.event import SIAEvent

from edge.relay.service import Relay
from edge.store import Database
from tests.peers.sia_receiver import SiaReceiver, hex_key
from tests.relay.relay_support import (
    ACCOUNT,
    ASCII_KEY,
    Emitted,
    delivered,
    depth,
    message,
    police,
    running,
    submit,
    until,
)

PADDED: list[str] = []  # every ACK body pysiaalarm encrypted this way


def _pkcs7_encrypt(self: SIAEvent, message: str) -> str | None:
    encr = self._get_crypter()
    if encr is None:
        return None
    PADDED.append(message)
    return str(encr.encrypt(pad(message.encode("ascii"), 16)).hex().upper())


def _rejected() -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        for s in metric.samples:
            if s.name == "edge_relay_replies_rejected_total":
                total += s.value
    return total


@pytest.mark.parametrize("udp", [False, True], ids=["tcp", "udp"])
async def test_pysiaalarm_acks_padded_pkcs7_are_taken(
    udp: bool, db: Database, emitted: Emitted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SIAEvent, "encrypt_content", _pkcs7_encrypt)
    PADDED.clear()
    rx = SiaReceiver(ACCOUNT, ASCII_KEY, udp=udp)
    await rx.start()
    try:
        (tmp_path / "dc09.key").write_text(hex_key(ASCII_KEY) + "\n")
        cfg = police([rx.url], key_file=tmp_path / "dc09.key", format="SIA-DCS", ack_timeout=3.0)
        before = _rejected()
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(z) for z in (1, 2, 3)], cfg)
            await until(lambda: depth(db) == 0, timeout=5)
            st = relay.status()
        got = rx.messages()
        assert [e.zone for e in got] == [1, 2, 3], "each alarm once: the first ACK was taken"
        assert all(e.encrypted for e in got) and len(PADDED) >= 3, "pysiaalarm's ACKs were PKCS#7-padded"
        assert _rejected() == before
        assert st["receivers"][0]["state"] == "up"
        assert [r["sequence"] for r in delivered(db)] == [e.sequence for e in got]
    finally:
        await rx.stop()
