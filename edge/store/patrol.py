"""The patrol_checkins table: written only through the runtime's writer, read by the API and report."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from edge.patrol.checkin import Checkin, Source
from edge.store.db import Database


@dataclass(frozen=True, slots=True)
class StoredCheckin:
    seq: int
    ts_ms: int
    checkpoint_id: str
    guard: str
    source: Source
    reader: str
    note: str
    has_photo: bool


def insert_checkins(conn: sqlite3.Connection, checkins: list[Checkin], received_ms: int) -> int:
    """Insert inside the caller's transaction; a check-in already stored (same checkpoint, time and
    guard: a re-imported download or a redelivered MQTT message) is ignored. Returns how many are new."""
    added = 0
    for c in checkins:
        cur = conn.execute(
            "INSERT OR IGNORE INTO patrol_checkins "
            "(ts_ms, checkpoint_id, tag, guard, source, reader, note, photo, received_ms) VALUES (?,?,?,?,?,?,?,?,?)",
            (c.ts_ms, c.checkpoint_id, c.tag, c.guard, str(c.source), c.reader, c.note, c.photo, received_ms),
        )
        added += cur.rowcount
    return added


# Shared by the API (through Database) and the report (its own read-only connection).
CHECKINS_BETWEEN = (
    "SELECT seq, ts_ms, checkpoint_id, guard, source, reader, note, photo IS NOT NULL AS has_photo "
    "FROM patrol_checkins WHERE ts_ms >= :start AND ts_ms < :end ORDER BY ts_ms, seq"
)


def checkins_between(db: Database, start_ms: int, end_ms: int) -> list[StoredCheckin]:
    return from_rows(db.query(CHECKINS_BETWEEN, {"start": start_ms, "end": end_ms}))


def from_rows(rows: list[dict[str, Any]]) -> list[StoredCheckin]:
    return [
        StoredCheckin(
            int(r["seq"]),
            int(r["ts_ms"]),
            str(r["checkpoint_id"]),
            str(r["guard"]),
            Source(r["source"]),
            str(r["reader"]),
            str(r["note"]),
            bool(r["has_photo"]),
        )
        for r in rows
    ]


def checkin_photo(db: Database, seq: int) -> bytes | None:
    rows = db.query("SELECT photo FROM patrol_checkins WHERE seq = ?", (seq,))
    return bytes(rows[0]["photo"]) if rows and rows[0]["photo"] is not None else None
