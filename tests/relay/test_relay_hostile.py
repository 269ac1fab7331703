"""The relay against a hostile DC-09 receiver (edge.sim.receiver's test modes), over TCP and UDP.

Issue #12 items 1, 2 and 5. The receiver is a real peer on a loopback socket that plays the part
of a forger on the path or a badly written receiver: it answers our frames with a plaintext ACK to
an AES message, an ACK without account, an ACK stamped 30 days ago, a replay of an ACK it captured,
an ACK for another sequence or one nobody waited for, NULL ACKs only, a PKCS#7-padded ACK, an ACK
that cannot be read, or the account with its leading zeros changed.

What must hold: an alarm is marked delivered only when the receiver really took it (it is in the
receiver's `reports` under the sequence our outbox row records); every refused reply is counted in
`edge_relay_replies_rejected_total{reason}`; a receiver that takes NULLs but not alarms, or answers
unreadably, loses the traffic to the backup within the failover bound and is not stormed.

Before the fix (commit 9769e6f) each of these failed: the channel took any reply with our sequence
(plaintext, no account, any timestamp, a replay) as the ACK, kept a reply that arrived early in its
read buffer as the answer to the next frame, compared accounts byte for byte ("0012AB" != "12AB"),
refused PKCS#7 padding as "not printable ASCII", and a NULL's ACK reset the failure count and pulled
traffic back to a primary that never acknowledged an alarm. (An ACK for another sequence, and an
unreadable ACK with a backup at hand, it already handled: those cases failed there only on the
counter, which it did not have; they stay as guards.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from edge.config.police import Police
from edge.relay.dc09.channel import Clock, Dc09Channel, Dc09Error, Receiver
from edge.relay.dc09.content import message_frame
from edge.relay.dc09.frame import Frame
from edge.relay.service import Relay
from edge.sim.receiver import DemoReceiver
from edge.store import Database
from edge.store.misc import set_meta
from tests.relay.relay_support import ACCOUNT, Emitted, delivered, depth, message, police, running, submit, until

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
TRANSPORTS = [pytest.param(False, id="tcp"), pytest.param(True, id="udp")]


def rejected(reason: str | None = None) -> float:
    """edge_relay_replies_rejected_total for one reason (or all of them)."""
    if reason is not None:
        return REGISTRY.get_sample_value("edge_relay_replies_rejected_total", {"reason": reason}) or 0.0
    total = 0.0
    for metric in REGISTRY.collect():
        for s in metric.samples:
            if s.name == "edge_relay_replies_rejected_total":
                total += s.value
    return total


def keyed(tmp_path: Path, receivers: list[str], **kw: Any) -> Police:
    (tmp_path / "dc09.key").write_text(KEY.hex() + "\n")
    return police(receivers, key_file=tmp_path / "dc09.key", receiver="2", line="3", **kw)


@pytest.fixture
async def rx(request: pytest.FixtureRequest) -> AsyncIterator[DemoReceiver]:
    receiver = await DemoReceiver(key=KEY, udp=bool(getattr(request, "param", False))).start()
    yield receiver
    await receiver.stop()


def panics(receiver: DemoReceiver) -> list[tuple[int, int]]:
    """(sequence, zone) of every alarm the receiver took (-1: a zone it could not read)."""
    return [(r.sequence, -1 if r.zone is None else r.zone) for r in receiver.reports if r.name == "PANIC"]


def assert_only_what_was_taken(db: Database, receiver: DemoReceiver, zones: dict[str, int]) -> None:
    """Every alarm the store calls delivered is at the receiver under the recorded sequence."""
    got = set(panics(receiver))
    for row in delivered(db):
        assert (row["sequence"], zones[row["event_id"]]) in got, f"delivered but never taken: {row}"


@pytest.mark.parametrize("rx", TRANSPORTS, indirect=True)
@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("plaintext_ack", "plaintext_reply"),
        ("no_account", "no_account"),
        ("stale_ack", "stale_timestamp"),
        ("wrong_sequence", "wrong_sequence"),
    ],
)
async def test_forged_ack_never_marks_an_alarm_delivered(
    rx: DemoReceiver, mode: str, reason: str, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    cfg = keyed(tmp_path, [rx.url], ack_timeout=0.5)
    rx.mode = mode
    before = rejected(reason)
    relay = Relay(cfg, db, emitted, "sch-1")
    alarm = message(1)
    async with running(relay):
        submit(db, relay, [alarm], cfg)
        await until(lambda: rx.forged >= 2, timeout=5)  # two attempts answered by the forger
        # The forger counts a reply when it sends it; the relay's verdict on it follows a moment later.
        await until(lambda: rejected(reason) - before >= 2, timeout=5)
        st = relay.status()
        assert depth(db) == 1 and delivered(db) == [], "a forged reply marked the alarm delivered"
        assert panics(rx) == []
        assert st["receivers"][0]["state"] == "down", "the link must not look up on forged replies"
        # The real receiver answers again: the same alarm goes, under the sequence it was first sent with.
        first_try = db.query("SELECT value FROM meta WHERE key LIKE 'dc09.sent.%'")[0]["value"]
        rx.mode = "normal"
        await until(lambda: depth(db) == 0, timeout=5)
    assert [r["sequence"] for r in delivered(db)] == [int(first_try)]
    # A resend (a slow ACK on a loaded box) is the same alarm under the same number: the receiver's duplicate.
    assert set(panics(rx)) == {(int(first_try), 1)}


@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_a_replayed_ack_is_refused_on_the_wire(udp: bool) -> None:
    """The receiver plays back, byte for byte, the ACK it sent to our last frame under the same
    sequence: the channel refuses it as `replayed` (an ACK already taken is no answer to a new send)."""
    rx = await DemoReceiver(key=KEY, udp=udp).start()
    ch = Dc09Channel(
        Receiver.parse(rx.url), account=ACCOUNT, key=KEY, clock=Clock(), connect_timeout=0.5, ack_timeout=0.5
    )
    alarm = message(5)

    def build(seq: int, ts: Any) -> Frame:
        return message_frame(alarm, fmt="ADM-CID", account=ACCOUNT, sequence=seq, timestamp=ts, line="0")

    try:
        assert (await ch.send(build, 42)).sequence == 42
        rx.mode = "replay"
        before = rejected("replayed")
        with pytest.raises(Dc09Error) as err:
            await ch.send(build, 42)
        assert err.value.reason == "timeout" and rx.forged == 1
        assert rejected("replayed") - before == 1
    finally:
        await ch.close()
        await rx.stop()


@pytest.mark.parametrize("rx", TRANSPORTS, indirect=True)
async def test_an_ack_captured_earlier_is_stale_when_replayed(
    rx: DemoReceiver, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    """An ACK captured two minutes ago, replayed when the same sequence comes round again (the counter
    wraps after 9999 messages), is refused by its timestamp and the alarm stays queued."""
    cfg = keyed(tmp_path, [rx.url], ack_timeout=0.5)
    first = message(1)
    async with running(relay := Relay(cfg, db, emitted, "sch-1")):
        submit(db, relay, [first], cfg)
        await until(lambda: depth(db) == 0)
    seq = delivered(db)[0]["sequence"]
    with db.tx() as conn:  # the counter has come round: the next report goes under `seq` again
        set_meta(conn, f"dc09.sequence.{rx.url}", str(seq - 1))
    rx.mode = "replay"
    before = rejected("stale_timestamp")
    later = Relay(cfg, db, emitted, "sch-1", clock=lambda: time.time() + 120)
    async with running(later):
        submit(db, later, [message(2)], cfg)
        await until(lambda: rx.forged >= 1, timeout=5)
        await asyncio.sleep(0.3)
        assert depth(db) == 1 and len(delivered(db)) == 1, "the replayed ACK marked the second alarm delivered"
    assert rejected("stale_timestamp") - before >= 1
    assert panics(rx) == [(seq, 1)]


@pytest.mark.parametrize("rx", TRANSPORTS, indirect=True)
async def test_an_ack_nobody_waited_for_is_not_taken(
    rx: DemoReceiver, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    """With each ACK the receiver sends a second, well-formed ACK for the next sequence, and then drops
    the frame that comes under it. That early ACK must not be taken as the answer to the next alarm."""
    cfg = keyed(tmp_path, [rx.url], ack_timeout=0.5)
    rx.mode = "unsolicited"
    before = rejected("unsolicited")
    relay = Relay(cfg, db, emitted, "sch-1")
    alarms = [message(1), message(2), message(3)]
    zones = {a.event_id: a.zone for a in alarms}
    async with running(relay):
        for a in alarms:
            submit(db, relay, [a], cfg)
            await until(lambda: depth(db) == 0, timeout=5)
    assert_only_what_was_taken(db, rx, zones)
    assert {z for _, z in panics(rx)} == {1, 2, 3}
    assert rx.forged >= 2 and rejected("unsolicited") - before >= 2


@pytest.mark.parametrize("udp", TRANSPORTS)
@pytest.mark.parametrize(("failures", "seconds"), [(2, 10.0), (100, 2.0)], ids=["by-count", "by-age"])
async def test_a_receiver_answering_only_nulls_loses_the_traffic(
    udp: bool, failures: int, seconds: float, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    """The primary acknowledges every NULL (every 0.2 s) and never an alarm. Alarms go to the backup by
    the failure count or, with the count out of reach, once the oldest has failed for
    failover_after_seconds; later alarms stay on the backup (the primary is held off)."""
    primary = await DemoReceiver(key=KEY, udp=udp).start()
    backup = await DemoReceiver(key=KEY, udp=udp).start()
    primary.mode = "nulls_only"
    try:
        cfg = keyed(
            tmp_path, [primary.url, backup.url], supervision_interval=0.2, ack_timeout=0.5,
            failover_after_failures=failures, failover_after_seconds=seconds,
        )  # fmt: skip
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            await until(lambda: primary.forged >= 1)  # a NULL acknowledged
            t0 = time.monotonic()
            submit(db, relay, [message(1), message(2), message(3)], cfg)
            # The bound: the failure count (attempts of ack_timeout each, 0.4 s apart), or the age
            # failover_after_seconds judged at the end of the attempt in flight then; plus 1 s of slack.
            per_try = cfg.ack_timeout + cfg.retry_max_interval
            bound = 1.0 + (failures * per_try if failures < 100 else cfg.failover_after_seconds + per_try)
            await until(lambda: depth(db) == 0, timeout=bound)
            took = time.monotonic() - t0
            submit(db, relay, [message(4), message(5)], cfg)
            await until(lambda: depth(db) == 0, timeout=3)
            st = relay.status()
        assert {z for _, z in panics(backup)} == {1, 2, 3, 4, 5}
        assert {r["receiver"] for r in delivered(db)} == {backup.url}
        assert st["active_receiver"] == backup.url
        assert st["receivers"][0]["state"] == "down", "a receiver that takes no alarm is not up"
        assert took <= bound
    finally:
        await primary.stop()
        await backup.stop()


@pytest.mark.parametrize("rx", TRANSPORTS, indirect=True)
async def test_a_pkcs7_padded_ack_is_taken_first_time(
    rx: DemoReceiver, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    cfg = keyed(tmp_path, [rx.url], ack_timeout=3.0)  # no resend for a slow ACK on a loaded box
    rx.mode = "pkcs7"
    before = rejected()
    relay = Relay(cfg, db, emitted, "sch-1")
    alarms = [message(z) for z in (1, 2, 3)]
    async with running(relay):
        submit(db, relay, alarms, cfg)
        await until(lambda: depth(db) == 0, timeout=3)
        st = relay.status()
    assert [z for _, z in panics(rx)] == [1, 2, 3], "each alarm sent once: no resend of an accepted one"
    assert not any(r.duplicate for r in rx.reports)
    assert all(r.encrypted for r in rx.reports)
    assert rejected() == before
    assert st["receivers"][0]["state"] == "up"
    assert_only_what_was_taken(db, rx, {a.event_id: a.zone for a in alarms})


@pytest.mark.parametrize("rx", TRANSPORTS, indirect=True)
async def test_account_written_with_other_leading_zeros_is_ours(
    rx: DemoReceiver, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    """Account "0012AB" is answered as "12AB", and "12AB" as "0012AB": the same account either way."""
    rx.mode = "account_zeros"
    for n, account in enumerate(("0012AB", "12AB")):
        cfg = keyed(tmp_path, [rx.url], ack_timeout=3.0).model_copy(update={"account": account})
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(n + 1)], cfg)
            await until(lambda: depth(db) == 0, timeout=3)
    assert [z for _, z in panics(rx)] == [1, 2]
    assert [r.account for r in rx.reports] == ["0012AB", "12AB"]


@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_an_unreadable_reply_neither_stalls_the_queue_nor_storms(
    udp: bool, db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    """The primary takes each alarm but answers with an ACK that cannot be decrypted. Each such reply is
    one failed attempt (counted), the resends back off, and the queue moves on to the backup.

    A guard rather than a reproduction: 9769e6f also failed over here (it failed on the counter, which
    it did not have); what made it storm was the PKCS#7 ACK it could not read, tested above."""
    primary = await DemoReceiver(key=KEY, udp=udp).start()
    backup = await DemoReceiver(key=KEY, udp=udp).start()
    primary.mode = "unreadable"
    try:
        cfg = keyed(tmp_path, [primary.url, backup.url], retry_max_interval=30, failover_after_seconds=10.0)
        relay = Relay(cfg, db, emitted, "sch-1")
        before = rejected()
        alarms = [message(z) for z in (1, 2, 3)]
        async with running(relay):
            submit(db, relay, alarms, cfg)
            await until(lambda: depth(db) == 0, timeout=3)
        # The first alarm reached the primary at most failover_after_failures times; the rest went on.
        assert [z for _, z in panics(primary)] == [1] * cfg.failover_after_failures
        assert {z for _, z in panics(backup)} == {1, 2, 3}
        assert rejected() - before == cfg.failover_after_failures
    finally:
        await primary.stop()
        await backup.stop()


async def test_an_unreadable_sole_receiver_gets_backed_off_resends(
    db: Database, emitted: Emitted, tmp_path: Path
) -> None:
    """With no backup, resends of the alarm to a receiver answering unreadably follow the back-off
    (0.5, 1, 2, 4 s ...): at most 5 sends in 6 s, not one per ACK timeout. (A guard: 9769e6f passed it.)"""
    rx = await DemoReceiver(key=KEY).start()
    rx.mode = "unreadable"
    try:
        cfg = keyed(tmp_path, [rx.url], retry_max_interval=30)
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            submit(db, relay, [message(1)], cfg)
            await asyncio.sleep(6.0)
            assert depth(db) == 1
        sends = panics(rx)
        assert 3 <= len(sends) <= 5, sends
        assert len({s for s, _ in sends}) == 1, "every resend under the same sequence"
        assert all(r.duplicate for r in rx.reports[1:])
    finally:
        await rx.stop()
