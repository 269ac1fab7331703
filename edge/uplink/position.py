"""The uplink's own place in the event log: the highest `seq` the county broker acknowledged.

One meta row, written by the uplink only; the uplink never writes events, alarms or devices. Reads
go to the store's read connection, so they never wait for the writer's commit.
"""

from __future__ import annotations

import json
from typing import Any

from edge.store.db import Database
from edge.store.events import row_to_event
from edge.store.misc import get_meta, set_meta

POSITION_KEY = "uplink.position"


def load_position(db: Database) -> int:
    raw = get_meta(db, POSITION_KEY)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0  # a damaged row: resend everything; the county drops duplicates by event id


def save_position(db: Database, seq: int) -> None:
    with db.tx() as conn:
        set_meta(conn, POSITION_KEY, str(seq))


def read_after(db: Database, seq: int, limit: int) -> list[dict[str, Any]]:
    return db.query(
        "SELECT seq, id, ts_ms, site, device_id, kind, payload, test FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        (seq, limit),
    )


def backlog(db: Database, position: int) -> tuple[int, int | None]:
    """(events not yet acknowledged by the broker, the oldest one's time in UTC ms or None)."""
    top = db.query("SELECT MAX(seq) AS top FROM events")
    oldest = db.query("SELECT ts_ms FROM events WHERE seq > ? ORDER BY seq LIMIT 1", (position,))
    count = max(0, int(top[0]["top"] or 0) - position) if top else 0
    return (count if oldest else 0), (int(oldest[0]["ts_ms"]) if oldest else None)


def event_message(row: dict[str, Any]) -> bytes:
    """The event as the county reads it: the API's event object plus the school's own `seq`."""
    body = row_to_event(row).as_dict()
    body["seq"] = int(row["seq"])
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
