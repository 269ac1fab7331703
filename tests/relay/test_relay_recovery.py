"""Recovery after a receiver outage (issue #12 item 3), against pysiaalarm's receiver.

The issue measured, after a 35 s outage, queued alarms arriving 25 s after the receiver's return and
a new press made 2 s after it taking 23.5 s: the retry back-off (0.5, 1, 2 ... up to 30 s) ran on
regardless. Here the outage is 4 s with the production back-off cap of 30 s, so at the return the
head's next retry is still ~3.5 s away (attempts at 0, 0.5, 1.5, 3.5, 7.5 s): before the fix (commit
9769e6f) both tests below waited that out. Now a new alarm, or an acknowledged NULL, means "try now",
and the backlog drains at line speed (one stop-and-wait exchange after the other).
"""

from __future__ import annotations

import asyncio
import time

from edge.relay.service import Relay
from edge.store import Database
from tests.peers.sia_receiver import SiaReceiver
from tests.relay.relay_support import ACCOUNT, Emitted, delivered, depth, message, police, running, submit, until

OUTAGE_S = 4.0
QUEUED = 10


async def _outage(rx: SiaReceiver, relay: Relay, db: Database) -> list[int]:
    """One alarm delivered, the receiver down, QUEUED alarms raised meanwhile, the receiver back."""
    cfg = relay.config
    submit(db, relay, [message(1)], cfg)
    await until(lambda: depth(db) == 0)
    await rx.stop()
    zones = list(range(2, 2 + QUEUED))
    for z in zones:
        submit(db, relay, [message(z)], cfg)
        await asyncio.sleep(0.01)
    await asyncio.sleep(OUTAGE_S)
    assert depth(db) == QUEUED
    await rx.start()
    return zones


def _in_order(rx: SiaReceiver) -> list[int | None]:
    """Zones in the order they first arrived (a resend after a slow ACK on a loaded box is the same alarm)."""
    return list(dict.fromkeys(e.zone for e in rx.messages()))


async def test_a_new_alarm_after_an_outage_goes_at_once(db: Database, emitted: Emitted) -> None:
    rx = SiaReceiver(ACCOUNT)
    await rx.start()
    try:
        cfg = police([rx.url], retry_max_interval=30, supervision_interval=0)
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            zones = await _outage(rx, relay, db)
            t0 = time.monotonic()
            submit(db, relay, [message(99)], cfg)  # the new press, just after the receiver's return
            await until(lambda: depth(db) == 0, timeout=10)
            took = time.monotonic() - t0
        assert took < 1.0, f"backlog and new alarm took {took:.2f} s after the new alarm"
        assert _in_order(rx) == [1, *zones, 99]
        assert len(delivered(db)) == QUEUED + 2
    finally:
        await rx.stop()


async def test_an_acknowledged_null_drains_the_backlog_at_once(db: Database, emitted: Emitted) -> None:
    rx = SiaReceiver(ACCOUNT)
    await rx.start()
    try:
        cfg = police([rx.url], retry_max_interval=30, supervision_interval=0.5)
        relay = Relay(cfg, db, emitted, "sch-1")
        async with running(relay):
            zones = await _outage(rx, relay, db)
            t0, back = time.monotonic(), time.time()
            await until(lambda: depth(db) == 0, timeout=10)
            took = time.monotonic() - t0
            first_null = min(e.received_at for e in rx.nulls() if e.received_at >= back)
        # The next NULL (within one interval) is acknowledged, and the backlog follows it at once.
        assert took < cfg.supervision_interval + 1.0, f"backlog took {took:.2f} s after the receiver's return"
        last = max(e.received_at for e in rx.messages())
        assert last - first_null < 0.5, "the backlog drains at line speed once a NULL is acknowledged"
        assert _in_order(rx) == [1, *zones]
    finally:
        await rx.stop()
