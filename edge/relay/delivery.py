"""The one delivery loop of one transport: the outbox and the memory queue, in priority order.

Each transport (DC-09, webhook) gets its own loop, so a dead webhook never holds DC-09 back; every
loop runs this same code. The next report is the outbox head or, while the store cannot be written,
the memory queue's head (edge.relay.memory), lower priority first and the outbox first at equal
priority (its reports are older). The head is retried until it is delivered: nothing overtakes an
older report of its priority.

Back-off after a failed attempt is 0.5, 1, 2 ... s up to `retry_max_interval`, kept here in memory.
It is cut short by `kick()`: a new report (the runtime's notify after a commit) or a sign that the
receiver is back (an acknowledged NULL, traffic returning to the primary) means "try now". A
delivered report resets it, so a backlog drains at line speed, one stop-and-wait exchange after the other.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Counter

from edge.events import now_ms
from edge.relay.links import OUTBOX_DEPTH, OUTBOX_OLDEST, RELAY_LATENCY, SENDS
from edge.relay.memory import MemoryQueue, MemoryReport
from edge.relay.message import PRIORITY_ALARM, PoliceMessage
from edge.relay.transport import Delivery, Transport, TransportRejected, TransportRetry
from edge.store import outbox
from edge.store.db import Database

log = logging.getLogger(__name__)

# Safety net for rows enqueued without notify() (another process, e.g. the commissioning CLI).
IDLE_POLL_S = 1.0

UNRECORDED = Counter(
    "edge_relay_unrecorded_deliveries_total",
    "Deliveries from memory the store could not record (the outbox sends them again, same sequence)",
)


class RetryPolicy(Protocol):
    """What a loop needs of its config (the police section, or a transport's own fixed policy)."""

    @property
    def retry_max_interval(self) -> float: ...

    @property
    def give_up_after(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Pending:
    """The next report: an outbox row, or a report held in memory."""

    message: PoliceMessage
    row: outbox.OutboxRow | None = None
    held: MemoryReport | None = None


class DeliveryLoop:
    def __init__(self, transport: Transport, db: Database, memory: MemoryQueue, config: RetryPolicy) -> None:
        self.transport = transport
        self._db = db
        self._memory = memory
        self._config = config
        self._wake = asyncio.Event()
        self._failures = 0  # consecutive failed attempts: the back-off exponent
        self._not_before = 0.0  # event-loop time before which the head is not retried

    def kick(self) -> None:
        """Try the head now, whatever its back-off (call on the event loop)."""
        self._not_before = 0.0
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            pending = await self._next()
            if pending is None:
                await self._refresh_gauges()
                await self._sleep(IDLE_POLL_S)
                continue
            wait = self._not_before - loop.time()
            if wait > 0:
                await self._sleep(min(wait, IDLE_POLL_S))
                continue
            await self._attempt(pending)

    async def _sleep(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _next(self) -> Pending | None:
        name = self.transport.name
        held = self._memory.head(name)
        row = await asyncio.to_thread(outbox.head, self._db, name)
        if held is not None and (row is None or held.priority < row.priority):
            return Pending(held.message, held=held)
        return Pending(row.message, row=row) if row is not None else None

    async def _attempt(self, pending: Pending) -> None:
        held = pending.held
        if held is not None:
            self._memory.take(held)
        settled = False
        try:
            try:
                delivery = await self.transport.deliver(pending.message)
            except TransportRetry as exc:
                self._failures += 1
                delay = 0.0 if exc.immediate else outbox.retry_delay(self._failures, self._config.retry_max_interval)
                self._not_before = asyncio.get_running_loop().time() + delay
                settled = await self._retry(pending, str(exc), delay)
                return
            except TransportRejected as exc:
                log.error("relay: %s rejected report %s: %s", self.transport.name, pending.message.event_id, exc)
                settled = await self._give_up(pending, str(exc), "rejected")
                return
            self._failures, self._not_before = 0, 0.0
            settled = True
            await self._delivered(pending, delivery)
        finally:
            if held is not None and not settled:
                self._memory.retry(held)  # back at its place, unless its event was committed meanwhile

    async def _delivered(self, pending: Pending, delivery: Delivery) -> None:
        acked, name, msg = now_ms(), self.transport.name, pending.message
        if pending.row is not None:
            await asyncio.to_thread(self._record, pending.row, delivery, acked)
            SENDS.labels(name, "delivered").inc()
            RELAY_LATENCY.labels(name).observe(max(0, acked - pending.row.created_ms) / 1000)
            return
        SENDS.labels(name, "delivered_from_memory").inc()
        held = pending.held
        if held is not None and self._memory.delivered(held, delivery.receiver, delivery.sequence, acked):
            try:  # its event got committed meanwhile: record the delivery on its outbox row
                await asyncio.to_thread(self._record_event, msg.event_id, delivery, acked)
            except sqlite3.Error as exc:
                UNRECORDED.inc()
                log.error("relay: cannot record delivery of %s (%s); it will be sent again", msg.event_id, exc)

    def _record(self, row: outbox.OutboxRow, delivery: Delivery, acked: int) -> None:
        with self._db.tx() as conn:
            outbox.mark_delivered_in(conn, row.seq, delivery.receiver, delivery.sequence, acked)
            self.transport.settle(conn, row.event_id)

    def _record_event(self, event_id: str, delivery: Delivery, acked: int) -> None:
        with self._db.tx() as conn:
            outbox.set_delivered_event(conn, event_id, self.transport.name, delivery.receiver, delivery.sequence, acked)
            self.transport.settle(conn, event_id)

    async def _retry(self, pending: Pending, error: str, delay: float) -> bool:
        """A failed attempt; True if the report was settled instead (a non-alarm past give_up_after)."""
        give_up, row = self._config.give_up_after, pending.row
        if row is None:
            log.warning("relay: report held in memory not delivered yet (%s)", error)
            return False
        if row.priority != PRIORITY_ALARM and give_up is not None and now_ms() - row.created_ms > give_up * 1000:
            SENDS.labels(row.transport, "gave_up").inc()
            log.error("relay: giving up on %s report %s after %.0f s: %s", row.transport, row.event_id, give_up, error)
            return await self._give_up(pending, f"gave up: {error}", "failed")
        await asyncio.to_thread(outbox.schedule_retry, self._db, row.seq, error, now_ms() + int(delay * 1000))
        return False

    async def _give_up(self, pending: Pending, error: str, state: str) -> bool:
        row = pending.row
        if row is None:
            return False  # a report in memory is never dropped: it waits for the store
        await asyncio.to_thread(self._fail, row, error, state)
        return True

    def _fail(self, row: outbox.OutboxRow, error: str, state: str) -> None:
        with self._db.tx() as conn:
            outbox.mark_failed_in(conn, row.seq, error, state)
            self.transport.settle(conn, row.event_id)

    async def _refresh_gauges(self) -> None:
        st = await asyncio.to_thread(outbox.status, self._db, now_ms())
        t = st["transports"].get(self.transport.name, {})
        OUTBOX_DEPTH.labels(self.transport.name).set(t.get("depth", 0))
        OUTBOX_OLDEST.labels(self.transport.name).set(t.get("oldest_age_s") or 0)
