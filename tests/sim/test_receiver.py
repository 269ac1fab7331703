"""The demo's DC-09 receiver: what it answers to good, stale, corrupt and repeated frames, and that
our own relay delivers to it over a real socket (plain and AES)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.config.police import Police
from edge.events import Event, now_ms
from edge.relay.dc09.content import message_frame
from edge.relay.dc09.frame import Frame, Rejection, encode, parse_reply
from edge.relay.message import PoliceCode, PoliceMessage
from edge.relay.service import Relay
from edge.sim.receiver import DemoReceiver
from edge.store import Database
from edge.store.outbox import enqueue, transports_for

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")


def _frame(code: PoliceCode, zone: int, seq: int, ts: datetime | None = None, fmt: str = "ADM-CID") -> Frame:
    msg = PoliceMessage(str(uuid.uuid4()), "b", code, zone, now_ms(), test=code == PoliceCode.TEST_MANUAL)
    stamp = ts or datetime.now(UTC).replace(microsecond=0)
    return message_frame(msg, fmt=fmt, account="1234", sequence=seq, timestamp=stamp, receiver="1", line="1")


@pytest.mark.parametrize("fmt", ["ADM-CID", "SIA-DCS"])
@pytest.mark.parametrize("key", [None, KEY])
def test_ack_echoes_sequence_account_and_prefixes(fmt: str, key: bytes | None, tmp_path: Path) -> None:
    rx = DemoReceiver(key=KEY, log_path=tmp_path / "rx.jsonl")
    reply = rx.handle(encode(_frame(PoliceCode.TEST_MANUAL, 7, 42, fmt=fmt), key))
    assert reply is not None
    ack = parse_reply(reply, KEY)
    assert isinstance(ack, Frame)
    assert (ack.kind, ack.sequence, ack.account, ack.receiver, ack.line) == ("ACK", 42, "1234", "1", "1")
    assert ack.encrypted == (key is not None)
    report = rx.reports[0]
    assert (report.zone, report.test, report.name) == (7, True, "TEST_MANUAL")
    assert report.code == ("1601" if fmt == "ADM-CID" else "RX")
    logged = json.loads((tmp_path / "rx.jsonl").read_text().splitlines()[0])
    assert logged["sequence"] == 42 and logged["name"] == "TEST_MANUAL"
    assert "手动测试" in report.line() and "zone 007" in report.line()


def test_stale_timestamp_gets_nak_with_receiver_time() -> None:
    rx = DemoReceiver()
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    reply = rx.handle(encode(_frame(PoliceCode.PANIC, 1, 3, ts=old)))
    assert reply is not None
    nak = parse_reply(reply)
    assert isinstance(nak, Frame) and nak.kind == "NAK"
    assert nak.timestamp is not None and abs((nak.timestamp - datetime.now(UTC)).total_seconds()) < 5
    assert rx.reports == [] and rx.rejected == {"timestamp_window": 1}


def test_crc_error_is_answered_with_silence() -> None:
    rx = DemoReceiver()
    raw = bytearray(encode(_frame(PoliceCode.PANIC, 1, 3)))
    raw[1:5] = b"0000" if raw[1:5] != b"0000" else b"1111"
    assert rx.handle(bytes(raw)) is None
    assert rx.rejected == {"crc": 1} and rx.reports == []


def test_repeat_is_acked_again_and_marked_duplicate() -> None:
    rx = DemoReceiver()
    frame = _frame(PoliceCode.PANIC, 2, 9)
    assert rx.handle(encode(frame)) is not None
    assert rx.handle(encode(frame)) is not None
    assert [r.duplicate for r in rx.reports] == [False, True]


def test_garbage_is_rejected_not_raised() -> None:
    rx = DemoReceiver()
    for junk in (b"", b"\n\r", b"\nZZZZ0004abcd\r", "\n中文\r".encode()):
        reply = rx.handle(junk)
        assert reply is None or isinstance(parse_reply(reply), Frame | Rejection)
    assert rx.reports == []


async def _relay_to(rx: DemoReceiver, db: Database, key_file: Path | None) -> list[PoliceCode]:
    cfg = Police.model_validate(
        {"account": "1234", "receivers": [rx.url], "supervision_interval": 0, "connect_timeout": 1,
         "ack_timeout": 2, "key_file": str(key_file) if key_file else None}
    )  # fmt: skip
    emitted: list[Event] = []

    async def emit(e: Event) -> None:
        emitted.append(e)

    relay = Relay(cfg, db, emit, "site")
    codes = [PoliceCode.PANIC, PoliceCode.TEST_MANUAL]
    with db.tx() as conn:
        for i, code in enumerate(codes):
            enqueue(conn, PoliceMessage(f"ev-{i}", "b", code, 3, now_ms(), test=code.name.startswith("TEST")),
                    transports_for(cfg))  # fmt: skip
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(10):
            while len(db.query("SELECT 1 FROM outbox WHERE state = 'delivered'")) < len(codes):
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return [PoliceCode[r.name] for r in rx.reports if r.name]


@pytest.mark.parametrize("encrypted", [False, True])
async def test_our_relay_delivers_to_it(tmp_path: Path, encrypted: bool) -> None:
    key_file = None
    if encrypted:
        key_file = tmp_path / "dc09.key"
        key_file.write_text(KEY.hex())
    rx = await DemoReceiver(key=KEY).start()
    db = Database(tmp_path / "edge.db")
    try:
        got = await _relay_to(rx, db, key_file)
    finally:
        await rx.stop()
        db.close()
    assert got == [PoliceCode.PANIC, PoliceCode.TEST_MANUAL]  # the alarm first, then the test report
    assert all(r.encrypted == encrypted for r in rx.reports)
