"""Police reports held in memory while the store cannot be written (disk full, I/O error).

When the runtime cannot commit an event it still runs the rules' police decision and puts the
resulting reports here; the relay's delivery loops serve this queue alongside the outbox, in priority
order, so an alarm still reaches the police. What was delivered from memory is remembered until
the held event is finally committed: then its outbox rows are written as already delivered, so the
police do not get the report a second time. Nothing here is ever dropped: a report leaves the queue
only when it is delivered or when its event's commit has put it in the durable outbox.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from edge.relay.message import PoliceMessage


@dataclass
class MemoryReport:
    message: PoliceMessage
    transport: str
    order: int  # arrival order: reports of one priority go out oldest first
    attempts: int = 0

    @property
    def priority(self) -> int:
        return self.message.priority


@dataclass(frozen=True)
class Delivered:
    receiver: str
    sequence: int | None
    acked_ms: int


class MemoryQueue:
    """Thread-safe: the runtime puts from the loop or API threads, the senders take on the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[MemoryReport] = []
        self._order = 0
        self._delivered: dict[tuple[str, str], Delivered] = {}  # (event_id, transport) -> where it went
        self._committed: set[tuple[str, str]] = set()  # in the outbox now: never served from memory again

    def put(self, message: PoliceMessage, transports: list[str]) -> None:
        with self._lock:
            for transport in transports:
                self._order += 1
                self._queue.append(MemoryReport(message, transport, self._order))
            self._queue.sort(key=lambda r: (r.priority, r.order))

    def head(self, transport: str) -> MemoryReport | None:
        with self._lock:
            return next((r for r in self._queue if r.transport == transport), None)

    def take(self, report: MemoryReport) -> None:
        """The sender starts on `report`: it leaves the queue (`retry` puts it back)."""
        with self._lock:
            self._queue.remove(report)

    def retry(self, report: MemoryReport) -> None:
        """A failed attempt: back at its place, unless the outbox has taken it over meanwhile."""
        with self._lock:
            if (report.message.event_id, report.transport) in self._committed:
                return
            report.attempts += 1
            self._queue.append(report)
            self._queue.sort(key=lambda r: (r.priority, r.order))

    def delivered(self, report: MemoryReport, receiver: str, sequence: int | None, acked_ms: int) -> bool:
        """Record the ACK. True when the outbox already holds the row: the caller marks it delivered there."""
        key = (report.message.event_id, report.transport)
        with self._lock:
            if key in self._committed:
                return True
            self._delivered[key] = Delivered(receiver, sequence, acked_ms)
            return False

    def delivered_info(self, event_id: str, transport: str) -> Delivered | None:
        """Where a report went from memory, if it did (read inside the committing transaction)."""
        with self._lock:
            return self._delivered.get((event_id, transport))

    def on_commit(self, event_id: str, transport: str) -> Delivered | None:
        """The report's outbox row is committed: never serve it from memory again.

        Returns the delivery when it was recorded after the transaction read it (the caller then marks
        the row delivered, best effort), else None."""
        key = (event_id, transport)
        with self._lock:
            self._committed.add(key)
            self._queue = [r for r in self._queue if (r.message.event_id, r.transport) != key]
            return self._delivered.pop(key, None)

    def forget_committed(self) -> None:
        """The backlog is empty again: nothing in flight can still refer to those rows."""
        with self._lock:
            if not self._queue:
                self._committed.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)
