"""DC-09 sequence numbers: the one owner of them, per receiver, surviving restarts.

Two things persist in the store's meta table:
- the counter, 0001-9999 per receiver, reserved in blocks, so a restart (even after kill -9) resumes
  past everything a previous run could have used: a new message never reuses an old one's number;
- per report and receiver, the number it was sent under, written *before* the frame goes out. A
  resend (a retry, or the restart after a crash between the receiver's ACK and our commit) goes
  under the same number, which is what lets the receiver recognise it as a duplicate. The entry is
  removed in the transaction that marks the report delivered (or failed).
When the store cannot be written (disk full, reports going out from memory) both live on in memory
for this run, logged and counted.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from prometheus_client import Counter

from edge.store.db import Database
from edge.store.misc import get_meta, set_meta

log = logging.getLogger(__name__)

UNSAVED = Counter("edge_relay_sequence_unsaved_total", "DC-09 sequence writes the store refused (kept in memory)")
_SENT_PREFIX = "dc09.sent."

SEQ_MAX = 9999  # the field is four digits and 0000 is reserved for replies such as a bare NAK
# 50 per reservation: one fsync per 50 messages, and a restart skips at most 50 of 9999 numbers.
BLOCK = 50


class SequenceAllocator:
    def __init__(self, db: Database, receiver: str) -> None:
        self._db = db
        self._key = f"dc09.sequence.{receiver}"
        self._next = 0
        self._limit = 0  # next == limit means the reserved block is used up
        # Reports (via a worker thread) and supervision (on the loop) draw from the same counter.
        self._lock = threading.Lock()

    def _reserve(self) -> None:
        try:
            self._reserve_durably()
        except sqlite3.Error as exc:
            # The store is full (reports are going out from memory): carry on past this block unsaved.
            # After a restart before the store recovers, numbers may repeat; DC-09 receivers de-duplicate
            # by sequence *and* content, so a repeat is at worst taken for a resend of an older report.
            UNSAVED.inc()
            log.error("dc09: cannot reserve sequence numbers in the store (%s); continuing in memory", exc)
            self._next, self._limit = self._limit, self._limit + BLOCK

    def _reserve_durably(self) -> None:
        with self._db.tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (self._key,)).fetchone()
            start = int(row[0]) % SEQ_MAX if row else 0
            set_meta(conn, self._key, str((start + BLOCK) % SEQ_MAX))
        self._next, self._limit = start, start + BLOCK

    def next(self) -> int:
        with self._lock:
            if self._next >= self._limit:
                self._reserve()
            n = self._next
            self._next += 1
        return n % SEQ_MAX + 1

    def persisted(self) -> int | None:
        """Where the next run will start (for diagnostics and tests)."""
        value = get_meta(self._db, self._key)
        return None if value is None else int(value) % SEQ_MAX + 1


def _sent_key(event_id: str, receiver: str) -> str:
    return f"{_SENT_PREFIX}{event_id}.{receiver}"


class SequenceStore:
    """Counters for every receiver and the number each report went out under. Thread-safe; its
    methods block on SQLite, so the relay calls them from a worker thread."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._counters: dict[str, SequenceAllocator] = {}
        self._unsaved: dict[tuple[str, str], int] = {}  # (event_id, receiver) -> number, store unwritable

    def _counter(self, receiver: str) -> SequenceAllocator:
        with self._lock:
            if receiver not in self._counters:
                self._counters[receiver] = SequenceAllocator(self._db, receiver)
            return self._counters[receiver]

    def for_null(self, receiver: str) -> int:
        """A fresh number for a supervision message (never resent, so never remembered)."""
        return self._counter(receiver).next()

    def for_report(self, event_id: str, receiver: str) -> int:
        """The number report `event_id` goes to `receiver` under: the one it went under before, else a
        new one, saved before it is returned."""
        with self._lock:
            held = self._unsaved.get((event_id, receiver))
        if held is not None:
            return held
        key = _sent_key(event_id, receiver)
        saved = get_meta(self._db, key)
        if saved is not None:
            return int(saved)
        number = self._counter(receiver).next()
        try:
            with self._db.tx() as conn:
                set_meta(conn, key, str(number))
        except sqlite3.Error as exc:
            UNSAVED.inc()
            log.error("dc09: cannot save sequence %04d of %s (%s); a restart may resend it anew", number, event_id, exc)
            with self._lock:
                self._unsaved[(event_id, receiver)] = number
        return number

    def forget(self, conn: sqlite3.Connection, event_id: str) -> None:
        """Inside the transaction that settles the report: it will not be sent again."""
        conn.execute(
            "DELETE FROM meta WHERE key >= ? AND key < ?", (f"{_SENT_PREFIX}{event_id}.", f"{_SENT_PREFIX}{event_id}/")
        )
        with self._lock:
            for k in [k for k in self._unsaved if k[0] == event_id]:
                del self._unsaved[k]
