"""alarm_media: the linked camera's picture taken at a press, kept with the alarm (written by the
runtime's writer, read by the API)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from edge.store.db import Database


def put_media(
    conn: sqlite3.Connection,
    event_id: str,
    device_id: str,
    camera_id: str,
    ts_ms: int,
    grabbed_ms: int | None,
    jpeg: bytes | None,
    error: str | None,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO alarm_media (event_id, device_id, camera_id, ts_ms, grabbed_ms, jpeg, error) "
        "VALUES (?,?,?,?,?,?,?)",
        (event_id, device_id, camera_id, ts_ms, grabbed_ms, jpeg, error),
    )


def media_picture(db: Database, event_id: str) -> tuple[bytes, int] | None:
    rows = db.query("SELECT jpeg, grabbed_ms FROM alarm_media WHERE event_id = ? AND jpeg IS NOT NULL", (event_id,))
    return (bytes(rows[0]["jpeg"]), int(rows[0]["grabbed_ms"])) if rows else None


def events_with_pictures(db: Database, event_ids: Sequence[str]) -> set[str]:
    if not event_ids:
        return set()
    marks = ",".join("?" * len(event_ids))
    rows = db.query(
        f"SELECT event_id FROM alarm_media WHERE jpeg IS NOT NULL AND event_id IN ({marks})",  # noqa: S608
        tuple(event_ids),
    )
    return {str(r["event_id"]) for r in rows}


def alarm_event(db: Database, alarm_id: str) -> str | None:
    rows = db.query("SELECT event_id FROM alarms WHERE id = ?", (alarm_id,))
    return str(rows[0]["event_id"]) if rows else None
