"""DC-09 sequence numbers 0001-9999 per receiver that survive restarts.

Numbers are reserved from the store's meta table in blocks, so the hot path writes SQLite once per
block, and a restart (even after kill -9) resumes past everything a previous run could have used:
a receiver de-duplicating by sequence never mistakes a new message for an old one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from edge.store.db import Database
from edge.store.misc import get_meta, set_meta

log = logging.getLogger(__name__)

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
