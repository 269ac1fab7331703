"""Telling a full or failing store from other database errors, and showing the fault to operators.

A store that cannot be written (disk full, I/O error) must not stop the alarms: the runtime holds
events in memory and the relay sends from memory (see edge.runtime and edge.relay.memory). This
module decides which errors mean that, and keeps the fault's metric and log lines in one place.
"""

from __future__ import annotations

import logging
import sqlite3

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

# SQLite primary result codes (the low byte of the extended code): the file cannot grow or be written.
SQLITE_IOERR = 10
SQLITE_FULL = 13
_FULL_CODES = (SQLITE_IOERR, SQLITE_FULL)
_FULL_TEXT = ("database or disk is full", "disk i/o error", "no space left")

STORE_FAULT = Gauge("edge_store_fault", "1 while the store cannot be written (events are held in memory)")
STORE_BACKLOG = Gauge("edge_store_backlog_events", "Events held in memory, waiting for the store to accept them")
STORE_DROPPED = Counter(
    "edge_store_backlog_dropped_total", "Non-alarm events dropped because the in-memory backlog was at its bound"
)


def is_store_full(exc: BaseException) -> bool:
    """True for the errors that mean "the store cannot be written now" (and may recover)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _FULL_CODES:
        return True
    text = str(exc).lower()
    return any(t in text for t in _FULL_TEXT)


class StoreFault:
    """The operator-visible fault: set once with its reason, cleared once on recovery."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.since_ms: int | None = None

    def raise_(self, reason: str, now_ms: int) -> None:
        if self.reason is None:
            log.error("store: cannot write (%s); holding events in memory and relaying alarms from memory", reason)
            self.since_ms = now_ms
        self.reason = reason
        STORE_FAULT.set(1)

    def clear(self, flushed: int) -> None:
        if self.reason is not None:
            log.warning("store: writable again; %d held event(s) committed in order", flushed)
        self.reason, self.since_ms = None, None
        STORE_FAULT.set(0)

    def as_dict(self, backlog: int) -> dict[str, object]:
        return {"fault": self.reason, "fault_since_ms": self.since_ms, "backlog": backlog}
