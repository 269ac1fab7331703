"""The change feed: every event, alarm change and device-state change, in commit order.

`GET /stream` serves it as server-sent events with `seq` as the event id, so a client that
reconnects with Last-Event-ID resumes exactly where it left off.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.events import now_ms
from edge.store.db import Database

# Change types on the feed (the SSE `event:` field).
EVENT = "event"
ALARM = "alarm"
DEVICE = "device"
RELAY = "relay"
PATROL = "patrol"
MAP = "map"
MEDIA = "media"


def record_change(conn: sqlite3.Connection, type_: str, ref: str, data: dict[str, Any]) -> int:
    cur = conn.execute(
        "INSERT INTO changes (ts_ms, type, ref, data) VALUES (?, ?, ?, ?)",
        (now_ms(), type_, ref, json.dumps(data, ensure_ascii=False, default=str)),
    )
    return int(cur.lastrowid or 0)


def changes_after(db: Database, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
    return db.query("SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))


def last_seq(db: Database) -> int:
    rows = db.query("SELECT COALESCE(MAX(seq), 0) AS s FROM changes")
    return int(rows[0]["s"])
