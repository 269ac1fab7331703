"""SQLite: WAL, synchronous=FULL, numbered migrations with a backup before each."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.events import now_ms
from edge.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

# Busy writers (API + daemon) wait rather than fail; 5 s is far longer than any of our transactions.
BUSY_TIMEOUT_MS = 5000
# Page cache per connection of the daemon's store (SQLite's default is 2 MiB). The daemon's queries
# are small indexed reads and appends whose B-tree paths fit in far less; the rest (snapshot blobs,
# old events) is read again from the kernel's page cache at memcpy cost. With the default the two
# connections filled ~4 MiB of the alarm core's 60 MB (DESIGN.md section 1) with pages read once;
# 128 KiB against 512 KiB measured 0.9 MB less core RSS in the footprint bench, with press commit p99
# and GET /status, /devices latencies within their run-to-run noise (bench_rules, bench_api).
DAEMON_CACHE_KIB = 128


class StoreError(Exception):
    """The store could not be opened, migrated or written."""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an alarm or outbox row acknowledged to anyone survives a power cut (DESIGN.md section 7).
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply pending migrations in order; copy the file first when it already holds data."""
    current = _version(conn)
    pending = [(v, sql) for v, sql in MIGRATIONS if v > current]
    if not pending:
        return current
    if current > 0:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        backup = path.with_name(f"{path.name}.v{current}.bak")
        shutil.copy2(path, backup)
        log.info("store: backed up schema v%s to %s before migrating", current, backup)
    for version, sql in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, sql.split(";")):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now_ms()))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"migration {version} failed: {exc}") from exc
        log.info("store: migrated to schema v%s", version)
    return pending[-1][0]


class Database:
    """A write connection (the runtime's writer thread, serialised by `lock`) and a read connection.

    Reads go to their own connection so that a commit stuck on a slow disk, or a write lock held by
    another process, never holds up an API answer or `/healthz`: in WAL mode a reader sees the last
    committed state while a writer works. A read made inside a write transaction on the same thread
    uses the write connection, so it sees that transaction's own rows.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.conn = connect(path)
            self.conn.execute(f"PRAGMA cache_size = -{DAEMON_CACHE_KIB}")
            self.version = migrate(self.conn, path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        try:
            self._reader = connect(path)
            self._reader.execute("PRAGMA query_only = ON")
            self._reader.execute(f"PRAGMA cache_size = -{DAEMON_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self.lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._depth = 0
        self._owner: int | None = None  # the thread inside the write transaction

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT); nested calls join the outer one."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._owner = threading.get_ident()
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:  # SQLITE_FULL and I/O errors may have rolled it back already
                    self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.Error:  # e.g. SQLITE_FULL at commit: never leave the transaction open
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
            finally:
                self._depth = 0
                self._owner = None

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        if self._owner == threading.get_ident():  # inside our own write transaction: see its rows
            with self.lock:
                return _rows(self.conn.execute(sql, params))
        with self._read_lock:
            return _rows(self._reader.execute(sql, params))

    def healthy(self) -> bool:
        """The store answers a read (without waiting for a commit in progress)."""
        try:
            with self._read_lock:
                self._reader.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def healthy_now(self) -> bool | None:
        """`healthy()` without waiting: None when another reader holds the connection (ask `healthy()`)."""
        if not self._read_lock.acquire(blocking=False):
            return None
        try:
            self._reader.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False
        finally:
            self._read_lock.release()

    def checkpoint(self) -> None:
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        with self.lock:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self.conn.close()


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [c[0] for c in cur.description or ()]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
