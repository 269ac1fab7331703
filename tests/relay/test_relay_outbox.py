"""The outbox table and the persisted DC-09 sequence: pure store logic on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edge.relay.message import PoliceCode
from edge.relay.sequence import BLOCK, SequenceAllocator
from edge.relay.service import Relay
from edge.store import Database, outbox
from tests.relay.relay_support import Emitted, message, police


def test_transports_for() -> None:
    assert outbox.transports_for(None) == []
    assert outbox.transports_for(police(["dc09://127.0.0.1:1"])) == ["dc09"]
    cfg = police([], webhook={"url": "https://127.0.0.1:9/alarm"})
    assert outbox.transports_for(cfg) == ["webhook"]
    both = police(["dc09://127.0.0.1:1"], webhook={"url": "https://127.0.0.1:9/alarm"})
    assert outbox.transports_for(both) == ["dc09", "webhook"]


def test_enqueue_is_per_transport_idempotent_and_round_trips(db: Database) -> None:
    m = message(3, PoliceCode.TAMPER, coordinates=(120.0, 30.0), verify_url="http://x/y", location="南门")
    with db.tx() as conn:
        outbox.enqueue(conn, m, ["dc09", "webhook"])
        outbox.enqueue(conn, m, ["dc09", "webhook"])  # the rules replaying an event
    rows = db.query("SELECT transport, priority, state FROM outbox ORDER BY seq")
    assert rows == [
        {"transport": "dc09", "priority": 0, "state": "pending"},
        {"transport": "webhook", "priority": 0, "state": "pending"},
    ]
    row = outbox.claim_next(db, "dc09", 0)
    assert row is not None and row.message == m and row.attempts == 1 and row.state == "pending"


def test_enqueue_rolls_back_with_the_callers_transaction(db: Database) -> None:
    try:
        with db.tx() as conn:
            outbox.enqueue(conn, message(1), ["dc09"])
            raise RuntimeError("event insert failed")
    except RuntimeError:
        pass
    assert db.query("SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 0


def test_order_is_priority_then_age_and_head_of_line_blocks(db: Database) -> None:
    restore = message(1, PoliceCode.PANIC_RESTORE, ts_ms=1000)
    trouble = message(2, PoliceCode.TROUBLE, ts_ms=1001)
    alarm_a = message(3, PoliceCode.PANIC, ts_ms=1002)
    alarm_b = message(4, PoliceCode.PANIC, ts_ms=1003)
    with db.tx() as conn:
        for m in (restore, trouble, alarm_a, alarm_b):
            outbox.enqueue(conn, m, ["dc09"])
    first = outbox.claim_next(db, "dc09", 5000)
    assert first is not None and first.message == alarm_a
    outbox.schedule_retry(db, first.seq, "down", next_try_ms=9000)
    # The head is backing off: nothing overtakes it, not even the next alarm.
    assert outbox.claim_next(db, "dc09", 5000) is None
    head = outbox.head(db, "dc09")
    assert head is not None and head.message == alarm_a and head.next_try_ms == 9000
    again = outbox.claim_next(db, "dc09", 9000)
    assert again is not None and again.message == alarm_a and again.attempts == 2
    order = []
    outbox.mark_delivered(db, again.seq, "dc09://r", 7, 9001)
    while (row := outbox.claim_next(db, "dc09", 10_000)) is not None:
        order.append(row.message.zone)
        outbox.mark_delivered(db, row.seq, "dc09://r", 8, 10_000)
    assert order == [4, 1, 2]


def test_claim_is_not_durable_and_status(db: Database) -> None:
    with db.tx() as conn:
        outbox.enqueue(conn, message(1, ts_ms=1_000), ["dc09"])
        outbox.enqueue(conn, message(2, ts_ms=2_000), ["dc09"])
        outbox.enqueue(conn, message(3, PoliceCode.TROUBLE, ts_ms=3_000), ["webhook"])
    claimed = outbox.claim_next(db, "dc09", 5_000)
    assert claimed is not None
    # A kill -9 between claim and ACK leaves the row pending: a restart sends it again.
    assert outbox.head(db, "dc09") == claimed.__class__(**{**_fields(claimed), "attempts": 0})
    outbox.mark_delivered(db, claimed.seq, "dc09://r", 12, 6_000)
    wh = outbox.claim_next(db, "webhook", 5_000)
    assert wh is not None
    outbox.mark_failed(db, wh.seq, "HTTP 400", "rejected")
    st = outbox.status(db, 10_000)
    assert st["depth"] == 1 and st["oldest_age_s"] == 8.0 and st["last_ack_ms"] == 6_000 and st["rejected"] == 1
    assert st["transports"]["dc09"]["depth"] == 1
    info = outbox.delivery_for(db, [claimed.message.event_id])
    assert info[claimed.message.event_id]["dc09"]["state"] == "delivered"
    assert info[claimed.message.event_id]["dc09"]["sequence"] == 12
    assert outbox.purge_delivered(db, 7_000) == 1


def _fields(row: outbox.OutboxRow) -> dict[str, Any]:
    return {f: getattr(row, f) for f in outbox.OutboxRow.__slots__}


def test_retry_delay_is_capped_exponential() -> None:
    assert [outbox.retry_delay(n, 5.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert outbox.retry_delay(10_000, 30.0) == 30.0


def test_sequence_persists_across_restarts_and_wraps(tmp_path: Path) -> None:
    path = tmp_path / "seq.db"
    db = Database(path)
    a = SequenceAllocator(db, "dc09://r1")
    first = [a.next() for _ in range(3)]
    assert first == [1, 2, 3]
    db.close()  # a restart (the same holds after kill -9: the reservation was committed first)
    db = Database(path)
    b = SequenceAllocator(db, "dc09://r1")
    assert b.next() == BLOCK + 1  # never reuses a number the previous run may have sent
    other = SequenceAllocator(db, "dc09://r2")
    assert other.next() == 1  # per receiver
    seen = [b.next() for _ in range(9998)]
    assert 9999 in seen and 0 not in seen and max(seen) == 9999 and min(seen) == 1
    db.close()


async def test_relay_without_transports_runs_until_cancelled(db: Database) -> None:
    relay = Relay(police([]), db, Emitted(), "sch-1")
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    assert relay.status()["receivers"] == [] and relay.status()["active_receiver"] is None
