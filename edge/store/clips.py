"""alarm_clips: the recorder's video of the seconds around a press, kept with the alarm.

One row per press with a recorder: `pending` while the core is still asking, then `ready` (with the
MP4 and the times of its first and last picture) or `failed` (with the last error kind).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from edge.store.db import Database


class ClipState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ClipRow:
    state: ClipState
    attempts: int
    start_ms: int | None
    end_ms: int | None
    error: str | None
    size: int


def put_clip(
    conn: sqlite3.Connection,
    event_id: str,
    device_id: str,
    camera_id: str,
    ts_ms: int,
    state: ClipState,
    attempts: int,
    now_ms: int,
    mp4: bytes | None = None,
    span: tuple[int, int] | None = None,
    error: str | None = None,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO alarm_clips (event_id, device_id, camera_id, ts_ms, state, attempts, mp4, start_ms,"
        " end_ms, error, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (event_id, device_id, camera_id, ts_ms, str(state), attempts, mp4, *(span or (None, None)), error, now_ms),
    )


def clip_video(db: Database, event_id: str) -> bytes | None:
    rows = db.query("SELECT mp4 FROM alarm_clips WHERE event_id = ? AND mp4 IS NOT NULL", (event_id,))
    return bytes(rows[0]["mp4"]) if rows else None


def clip_rows(db: Database, event_ids: Sequence[str]) -> dict[str, ClipRow]:
    if not event_ids:
        return {}
    marks = ",".join("?" * len(event_ids))
    rows = db.query(
        "SELECT event_id, state, attempts, start_ms, end_ms, error, length(mp4) AS size FROM alarm_clips"  # noqa: S608
        f" WHERE event_id IN ({marks})",
        tuple(event_ids),
    )
    return {
        str(r["event_id"]): ClipRow(
            ClipState(r["state"]), int(r["attempts"]), r["start_ms"], r["end_ms"], r["error"], int(r["size"] or 0)
        )
        for r in rows
    }
