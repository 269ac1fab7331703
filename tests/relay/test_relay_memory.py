"""The memory queue the relay serves while the store is full (edge.relay.memory): pure logic."""

from __future__ import annotations

from edge.relay.memory import MemoryQueue
from edge.relay.message import PoliceCode, PoliceMessage


def _msg(event_id: str, code: PoliceCode = PoliceCode.PANIC) -> PoliceMessage:
    return PoliceMessage(event_id=event_id, device_id="b1", code=code, zone=1, ts_ms=1)


def test_alarms_first_then_arrival_order_per_transport() -> None:
    q = MemoryQueue()
    q.put(_msg("r1", PoliceCode.PANIC_RESTORE), ["dc09", "webhook"])
    q.put(_msg("a1"), ["dc09"])
    q.put(_msg("a2"), ["dc09"])
    order = []
    while (head := q.head("dc09")) is not None:
        q.take(head)
        order.append(head.message.event_id)
    assert order == ["a1", "a2", "r1"]
    assert q.head("webhook") is not None and len(q) == 1


def test_failed_attempt_keeps_its_place() -> None:
    q = MemoryQueue()
    q.put(_msg("a1"), ["dc09"])
    q.put(_msg("a2"), ["dc09"])
    first = q.head("dc09")
    assert first is not None
    q.take(first)
    q.retry(first)
    assert q.head("dc09") is first and first.attempts == 1


def test_commit_hands_over_to_the_outbox() -> None:
    q = MemoryQueue()
    q.put(_msg("a1"), ["dc09"])
    q.put(_msg("a2"), ["dc09"])
    a1 = q.head("dc09")
    assert a1 is not None
    q.take(a1)
    assert not q.delivered(a1, "dc09://r", 7, 100), "not committed yet: memory remembers the delivery"
    info = q.delivered_info("a1", "dc09")
    assert info is not None and info.sequence == 7
    assert q.on_commit("a1", "dc09") == info
    assert q.on_commit("a2", "dc09") is None
    assert q.head("dc09") is None, "a committed report is the outbox's now"


def test_delivery_after_commit_is_reported_and_retry_is_dropped() -> None:
    q = MemoryQueue()
    q.put(_msg("a1"), ["dc09"])
    a1 = q.head("dc09")
    assert a1 is not None
    q.take(a1)
    q.on_commit("a1", "dc09")
    assert q.delivered(a1, "dc09://r", 8, 100), "the caller must mark the outbox row delivered"
    q.retry(a1)
    assert q.head("dc09") is None, "the outbox sends it; memory must not send it again"
    q.forget_committed()
    assert len(q) == 0
