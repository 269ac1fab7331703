"""The county's PostgreSQL store (psycopg 3): migrations, idempotent writes, the reads the API needs.

Every write is keyed so a redelivered message changes nothing: events by (school, event id),
retained objects by (school, id) and kept only when newer (`published_ms`), so two instances taking
turns on a school's messages never put an older status over a newer one — unless it arrived a
minute later than the stored one (CLOCK_JUMP_MS): then the school's clock jumped back, and the
newer arrival wins.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from edge.county.migrations import MIGRATIONS

log = logging.getLogger(__name__)

# A retained object that arrived this much later than the stored one replaces it even when the school's
# clock says it is older: that clock jumped back (two instances racing are milliseconds apart, not this).
CLOCK_JUMP_MS = 60_000
MIGRATION_LOCK = 0x6564_6765  # pg_advisory_xact_lock key: instances starting together migrate one at a time


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message, classified by topic: kind is status / device / event / report."""

    kind: str
    school: str
    key: str  # device id, report date, or ""
    body: dict[str, Any]
    published_ms: int
    received_ms: int


def migrate(conn: psycopg.Connection[Any]) -> int:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ "
            "NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        for version, sql in MIGRATIONS:
            if version <= current:
                continue
            conn.execute(sql.encode())  # our own constant text
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
            log.info("county store: migrated to schema v%s", version)
            current = version
    return current


class CountyStore:
    """One write connection (the ingest worker's) and one read connection (the API's), each behind a lock."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.writer = psycopg.connect(dsn, autocommit=True)
        self.version = migrate(self.writer)
        self.reader = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
        self._wlock, self._rlock = threading.Lock(), threading.Lock()

    def close(self) -> None:
        self.writer.close()
        self.reader.close()

    def _fresh(self, conn: psycopg.Connection[Any], **kw: Any) -> psycopg.Connection[Any]:
        """`conn`, or a new connection when the server dropped it (a restart, a failover)."""
        if not conn.closed and not conn.broken:
            return conn
        log.warning("county store: reconnecting to the database")
        conn.close()
        return psycopg.connect(self.dsn, autocommit=True, **kw)

    def write(self, batch: list[Message]) -> int:
        """All of `batch` in one transaction; returns how many events were new."""
        with self._wlock:
            self.writer = self._fresh(self.writer)
            return self._write(batch)

    def _write(self, batch: list[Message]) -> int:
        new = 0
        with self.writer.transaction():
            cur = self.writer.cursor()
            seen: dict[str, int] = {}
            for m in batch:
                seen[m.school] = max(seen.get(m.school, 0), m.received_ms)
            for school, at in sorted(seen.items()):  # a fixed order: two instances never deadlock
                cur.execute(
                    "INSERT INTO schools (id, last_seen_ms) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                    "SET last_seen_ms = GREATEST(schools.last_seen_ms, EXCLUDED.last_seen_ms)",
                    (school, at),
                )
            for m in batch:
                new += self._one(cur, m)
        return new

    @staticmethod
    def _one(cur: psycopg.Cursor[Any], m: Message) -> int:
        b = m.body
        if m.kind == "event":
            cur.execute(
                "INSERT INTO events (school, id, seq, ts_ms, device_id, kind, payload, test, received_ms) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (school, id) DO NOTHING",
                (
                    m.school,
                    str(b["id"]),
                    int(b["seq"]),
                    int(b["ts_ms"]),
                    str(b["device_id"]),
                    str(b["kind"]),
                    Jsonb(b.get("payload") or {}),
                    bool(b.get("test")),
                    m.received_ms,
                ),
            )
            return cur.rowcount
        if m.kind == "status":
            site_obj = b.get("site")
            site: dict[str, Any] = site_obj if isinstance(site_obj, dict) else {}
            cur.execute(
                "UPDATE schools SET status = %s, status_ms = %s, status_received_ms = %s, name = %s WHERE id = %s "
                "AND (status_ms <= %s OR status_received_ms < %s)",
                (
                    Jsonb(b),
                    m.published_ms,
                    m.received_ms,
                    str(site.get("name") or ""),
                    m.school,
                    m.published_ms,
                    m.received_ms - CLOCK_JUMP_MS,
                ),
            )
        elif m.kind == "device":
            cur.execute(
                "INSERT INTO devices (school, id, type, state, data, published_ms, received_ms) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (school, id) DO UPDATE SET type = EXCLUDED.type, state = EXCLUDED.state, "
                "data = EXCLUDED.data, published_ms = EXCLUDED.published_ms, received_ms = EXCLUDED.received_ms "
                "WHERE devices.published_ms <= EXCLUDED.published_ms OR devices.received_ms < %s",
                (
                    m.school,
                    m.key,
                    str(b.get("type", "")),
                    str(b.get("state", "unknown")),
                    Jsonb(b),
                    m.published_ms,
                    m.received_ms,
                    m.received_ms - CLOCK_JUMP_MS,
                ),
            )
        elif m.kind == "report":
            cur.execute(
                "INSERT INTO reports (school, day, data, published_ms, received_ms) VALUES (%s,%s,%s,%s,%s) "
                "ON CONFLICT (school, day) DO UPDATE SET data = EXCLUDED.data, published_ms = EXCLUDED.published_ms, "
                "received_ms = EXCLUDED.received_ms "
                "WHERE reports.published_ms <= EXCLUDED.published_ms OR reports.received_ms < %s",
                (m.school, m.key, Jsonb(b), m.published_ms, m.received_ms, m.received_ms - CLOCK_JUMP_MS),
            )
        return 0

    # --- reads ------------------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with self._rlock:
            self.reader = self._fresh(self.reader, row_factory=dict_row)
            yield self.reader

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        for attempt in (1, 2):
            try:
                with self._read() as conn:
                    return list(conn.execute(sql.encode(), params).fetchall())
            except psycopg.OperationalError:
                if attempt == 2 or not self.reader.broken:
                    raise
        raise AssertionError("unreachable")  # the loop returns or raises

    def schools(self) -> list[dict[str, Any]]:
        return self.query(
            "SELECT id, name, last_seen_ms, status, status_ms, status_received_ms FROM schools ORDER BY id"
        )

    def devices(self, school: str | None = None) -> list[dict[str, Any]]:
        if school is None:
            return self.query("SELECT school, id, type, state, data FROM devices ORDER BY school, id")
        return self.query("SELECT school, id, type, state, data FROM devices WHERE school = %s ORDER BY id", (school,))

    def latest_reports(self) -> dict[str, dict[str, Any]]:
        rows = self.query(
            "SELECT DISTINCT ON (school) school, day, data FROM reports WHERE NOT (data->>'partial')::boolean "
            "ORDER BY school, day DESC"
        )
        return {r["school"]: r["data"] for r in rows}

    def month_reports(self, month: str) -> list[dict[str, Any]]:
        """The complete days' figures of `month` (YYYY-MM), every school."""
        return self.query(
            "SELECT school, day, data FROM reports WHERE to_char(day, 'YYYY-MM') = %s "
            "AND NOT (data->>'partial')::boolean ORDER BY school, day",
            (month,),
        )

    def last_tests(self) -> dict[str, int]:
        rows = self.query("SELECT school, MAX(ts_ms) AS t FROM events WHERE test GROUP BY school")
        return {r["school"]: int(r["t"]) for r in rows}

    def events(
        self,
        *,
        school: str | None = None,
        kind: str | None = None,
        device: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        where, params = ["TRUE"], []
        for clause, value in (
            ("school = %s", school),
            ("kind = %s", kind),
            ("device_id = %s", device),
            ("ts_ms >= %s", since_ms),
            ("ts_ms < %s", until_ms),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        params.append(limit)
        sql = (
            "SELECT school, id, seq, ts_ms, device_id, kind, payload, test, received_ms FROM events WHERE "  # noqa: S608
            + " AND ".join(where)
            # One school's events in its own order (`seq`): right even when the school's clock is wrong.
            + (
                " ORDER BY seq DESC LIMIT %s"
                if school is not None
                else " ORDER BY ts_ms DESC, school, seq DESC LIMIT %s"
            )
        )
        return self.query(sql, tuple(params))


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, default=str)
