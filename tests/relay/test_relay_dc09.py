"""The relay against a real DC-09 receiver (pysiaalarm): codes, AES, supervision, outage, failover, NAK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.relay.message import PoliceCode
from edge.relay.service import Relay
from edge.store import Database
from edge.store.outbox import head
from tests.peers.sia_receiver import SiaReceiver, free_port, hex_key
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


@pytest.fixture
async def receiver() -> AsyncIterator[SiaReceiver]:
    rx = SiaReceiver(ACCOUNT)
    await rx.start()
    yield rx
    await rx.stop()


@pytest.mark.parametrize("fmt", ["ADM-CID", "SIA-DCS"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "aes"])
async def test_every_code_arrives(fmt: str, encrypted: bool, db: Database, emitted: Emitted, tmp_path: Path) -> None:
    rx = SiaReceiver(ACCOUNT, ASCII_KEY if encrypted else None)
    await rx.start()
    try:
        extra = {}
        if encrypted:
            (tmp_path / "dc09.key").write_text(hex_key(ASCII_KEY) + "\n")
            extra["key_file"] = tmp_path / "dc09.key"
        cfg = police([rx.url], format=fmt, receiver="2", line="3", **extra)
        relay = Relay(cfg, db, emitted, "sch-1")
        codes = list(PoliceCode)
        async with running(relay):
            submit(db, relay, [message(10 + i, code) for i, code in enumerate(codes)], cfg)
            await rx.wait_for(lambda: len(rx.messages()) >= len(codes))
            await until(lambda: depth(db) == 0)
        got = rx.messages()
        assert all(e.account == ACCOUNT and e.encrypted == encrypted for e in got)
        assert all(e.receiver == "R2" and e.line == "L3" for e in got)
        zones = [e.zone for e in got]
        assert all(z is not None for z in zones)
        assert sorted(z for z in zones if z is not None) == [10 + i for i in range(len(codes))]
        by_zone = {e.zone: e for e in got}
        for i, code in enumerate(codes):
            e = by_zone[10 + i]
            if fmt == "ADM-CID":
                assert e.cid == code.cid
            else:
                assert e.code == code.sia
        rows = delivered(db)
        assert len(rows) == len(codes) and all(r["receiver"] == rx.url and r["sequence"] for r in rows)
        assert emitted.links() == [("police-receiver-1", "up")]
    finally:
        await rx.stop()


async def test_extended_data_reaches_the_receiver(receiver: SiaReceiver, db: Database, emitted: Emitted) -> None:
    cfg = police([receiver.url], format="SIA-DCS", coordinates={"x": 120.15, "y": 30.28})
    relay = Relay(cfg, db, emitted, "sch-1")
    async with running(relay):
        submit(db, relay, [message(4, verify_url="http://192.0.2.9/cam[gate]")], cfg)
        await receiver.wait_for(lambda: len(receiver.messages()) == 1)
    assert receiver.messages()[0].xdata == "X120.150000][Y30.280000][Vhttp://192.0.2.9/cam%5Bgate%5D"


async def test_alarms_go_ahead_of_restores_and_tests(receiver: SiaReceiver, db: Database, emitted: Emitted) -> None:
    cfg = police([receiver.url])
    submit(
        db,
        None,
        [message(1, PoliceCode.TEST_PERIODIC), message(2, PoliceCode.PANIC_RESTORE), message(3, PoliceCode.PANIC)],
        cfg,
    )
    relay = Relay(cfg, db, emitted, "sch-1")
    async with running(relay):
        await receiver.wait_for(lambda: len(receiver.messages()) == 3)
    assert [e.zone for e in receiver.messages()] == [3, 2, 1]


async def test_supervision_nulls_on_schedule(receiver: SiaReceiver, db: Database, emitted: Emitted) -> None:
    cfg = police([receiver.url], supervision_interval=0.2)
    relay = Relay(cfg, db, emitted, "sch-1")
    async with running(relay):
        t0 = time.monotonic()
        await receiver.wait_for(lambda: len(receiver.nulls()) >= 6, timeout=5)
        elapsed = time.monotonic() - t0
    # Six NULLs (the first at start) take five intervals; allow scheduling slack but not a missed beat.
    assert 0.9 <= elapsed <= 1.6
    gaps = [b.received_at - a.received_at for a, b in zip(receiver.nulls(), receiver.nulls()[1:], strict=False)]
    assert all(0.15 <= g <= 0.4 for g in gaps), gaps
    assert all(e.account == ACCOUNT for e in receiver.nulls())
    assert emitted.links() == [("police-receiver-1", "up")]


async def test_outage_queues_then_drains_in_order(receiver: SiaReceiver, db: Database, emitted: Emitted) -> None:
    cfg = police([receiver.url], supervision_interval=0.2)
    relay = Relay(cfg, db, emitted, "sch-1")
    async with running(relay):
        submit(db, relay, [message(1)], cfg)
        await receiver.wait_for(lambda: len(receiver.messages()) == 1)
        await receiver.stop()
        for zone in range(2, 12):
            submit(db, relay, [message(zone)], cfg)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        st = relay.status()
        assert st["outbox"]["depth"] == 10 and st["outbox"]["oldest_age_s"] > 0.3
        assert st["receivers"][0]["state"] == "down"
        assert head(db, "dc09").message.zone == 2  # type: ignore[union-attr]
        await receiver.start()
        await receiver.wait_for(lambda: len(receiver.messages()) == 11, timeout=5)
        await until(lambda: depth(db) == 0)
        assert relay.status()["receivers"][0]["state"] == "up"
    assert [e.zone for e in receiver.messages()] == list(range(1, 12))
    assert emitted.links() == [("police-receiver-1", "up"), ("police-receiver-1", "down"), ("police-receiver-1", "up")]


async def test_failover_to_backup_and_back(db: Database, emitted: Emitted) -> None:
    primary, backup = SiaReceiver(ACCOUNT), SiaReceiver(ACCOUNT)
    await primary.start()
    await backup.start()
    try:
        cfg = police([primary.url, backup.url], supervision_interval=0.25, failover_after_seconds=2.0)
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1)], cfg)
            await primary.wait_for(lambda: len(primary.messages()) == 1)
            await primary.stop()
            t0 = time.monotonic()
            submit(db, relay, [message(2)], cfg)
            await backup.wait_for(lambda: len(backup.messages()) == 1, timeout=5)
            # Two refused connects (the configured failure count) and one half-second back-off.
            assert time.monotonic() - t0 < cfg.failover_after_seconds
            assert relay.status()["active_receiver"] == backup.url
            await primary.start()
            # The next supervision NULL to the primary is acknowledged and traffic returns to it.
            await until(lambda: relay.status()["active_receiver"] == primary.url, timeout=3)
            submit(db, relay, [message(3)], cfg)
            await primary.wait_for(lambda: len(primary.messages()) == 2, timeout=3)
        assert [e.zone for e in primary.messages()] == [1, 3]
        assert [e.zone for e in backup.messages()] == [2]
        assert ("police-receiver-1", "down") in emitted.links()
        assert emitted.links("police-receiver-1")[-1] == ("police-receiver-1", "up")
    finally:
        await primary.stop()
        await backup.stop()


async def test_nak_with_receiver_time_corrects_the_clock(receiver: SiaReceiver, db: Database, emitted: Emitted) -> None:
    cfg = police([receiver.url])
    # The gateway's clock runs five minutes slow: pysiaalarm NAKs anything outside -40/+20 s.
    relay = Relay(cfg, db, emitted, "sch-1", clock=lambda: time.time() - 300)
    async with running(relay):
        submit(db, relay, [message(7)], cfg)
        await receiver.wait_for(lambda: len(receiver.messages()) == 1, timeout=5)
        await until(lambda: depth(db) == 0)
        offset = relay.status()["receivers"][0]["clock_offset_s"]
    assert 298 <= offset <= 302
    assert receiver.counts.get("timestamp") == 1  # exactly one NAK, then accepted
    assert len(delivered(db)) == 1


async def test_unknown_account_is_a_failure_not_a_delivery(db: Database, emitted: Emitted) -> None:
    rx = SiaReceiver("9999")  # the police know a different account: pysiaalarm answers a bare "NAK"
    await rx.start()
    try:
        cfg = police([rx.url])
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1)], cfg)
            await asyncio.sleep(0.8)
            st = relay.status()
        assert st["outbox"]["depth"] == 1 and delivered(db) == []
        assert st["receivers"][0]["state"] == "down" and "nak" in st["receivers"][0]["reason"]
        assert db.query("SELECT attempts, last_error FROM outbox")[0]["attempts"] >= 2
    finally:
        await rx.stop()


async def test_wrong_aes_key_is_a_failure(db: Database, emitted: Emitted, tmp_path: Path) -> None:
    rx = SiaReceiver(ACCOUNT, ASCII_KEY)
    await rx.start()
    try:
        (tmp_path / "k").write_text("00" * 16)
        cfg = police([rx.url], key_file=tmp_path / "k")
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1)], cfg)
            await asyncio.sleep(0.8)
        assert delivered(db) == [] and rx.messages() == []
    finally:
        await rx.stop()


async def test_udp_transport(db: Database, emitted: Emitted) -> None:
    rx = SiaReceiver(ACCOUNT, udp=True)
    await rx.start()
    try:
        cfg = police([rx.url], format="SIA-DCS")
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1), message(2, PoliceCode.TAMPER)], cfg)
            await rx.wait_for(lambda: len(rx.messages()) == 2)
            await until(lambda: depth(db) == 0)
        assert [(e.zone, e.code) for e in rx.messages()] == [(1, "PA"), (2, "TA")]
        assert len(delivered(db)) == 2
    finally:
        await rx.stop()


async def test_non_alarms_give_up_alarms_never(db: Database, emitted: Emitted) -> None:
    cfg = police([f"dc09://127.0.0.1:{free_port()}"], give_up_after=0.3, retry_max_interval=0.1)  # nobody listens
    relay = Relay(cfg, db, emitted, "sch-1")
    async with running(relay):
        submit(db, relay, [message(1, PoliceCode.TROUBLE)], cfg)
        await until(lambda: relay.status()["outbox"]["failed"] == 1, timeout=3)
        submit(db, relay, [message(2, PoliceCode.PANIC)], cfg)
        await asyncio.sleep(0.6)
        st = relay.status()
    assert st["outbox"]["failed"] == 1 and st["outbox"]["depth"] == 1  # the alarm is still queued
    rows = db.query("SELECT priority, state, last_error FROM outbox ORDER BY seq")
    assert rows[0]["state"] == "failed" and rows[0]["last_error"].startswith("gave up")
    assert rows[1]["state"] == "pending" and rows[1]["priority"] == 0


async def test_a_dead_webhook_does_not_hold_back_dc09(receiver: SiaReceiver, db: Database, emitted: Emitted) -> None:
    cfg = police([receiver.url], webhook={"url": f"http://127.0.0.1:{free_port()}/alarm"})
    relay = Relay(cfg, db, emitted, "sch-1")
    async with running(relay):
        submit(db, relay, [message(1), message(2)], cfg)
        await receiver.wait_for(lambda: len(receiver.messages()) == 2)
        await until(lambda: relay.status()["outbox"]["transports"]["dc09"]["depth"] == 0)
        st = relay.status()
    assert st["outbox"]["transports"]["webhook"]["depth"] == 2
    assert st["webhook"]["state"] == "down"
