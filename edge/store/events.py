"""The append-only event log."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge.events import Event, EventKind
from edge.store.db import Database

# Old events are purged in batches so a big purge never holds the write lock for long.
PURGE_BATCH = 5000


def insert_event(conn: sqlite3.Connection, event: Event) -> int:
    """Insert inside the caller's transaction; returns the event's sequence number (its SSE id)."""
    cur = conn.execute(
        "INSERT INTO events (id, ts_ms, site, device_id, kind, payload, test) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            event.id,
            event.ts_ms,
            event.site,
            event.device_id,
            str(event.kind),
            json.dumps(event.payload, ensure_ascii=False, default=str),
            int(event.test),
        ),
    )
    return int(cur.lastrowid or 0)


def row_to_event(row: dict[str, Any]) -> Event:
    return Event(
        kind=EventKind(row["kind"]),
        device_id=row["device_id"],
        payload=json.loads(row["payload"]),
        ts_ms=row["ts_ms"],
        id=row["id"],
        site=row["site"],
        test=bool(row["test"]),
    )


def query_events(
    db: Database,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    kinds: list[str] | None = None,
    device: str | None = None,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 100,
    ascending: bool = False,
) -> list[dict[str, Any]]:
    where, params = ["1=1"], []
    for clause, value in (
        ("ts_ms >= ?", since_ms),
        ("ts_ms < ?", until_ms),
        ("device_id = ?", device),
        ("seq > ?", after_seq),
        ("seq < ?", before_seq),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)
    order = "ASC" if ascending else "DESC"
    params.append(limit)
    sql = f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"  # noqa: S608 - clauses are ours
    return db.query(sql, tuple(params))


def purge_events(db: Database, older_than_ms: int) -> int:
    """Delete events older than the cut-off in batches; returns how many went."""
    total = 0
    while True:
        with db.tx() as conn:
            cur = conn.execute(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts_ms < ? LIMIT ?)",
                (older_than_ms, PURGE_BATCH),
            )
        total += cur.rowcount
        if cur.rowcount < PURGE_BATCH:
            break
    if total:
        db.checkpoint()
    return total


def last_levels(db: Database, device_id: str) -> dict[str, bool]:
    """The press and tamper levels a device's newest events left behind (empty when none)."""
    levels: dict[str, bool] = {}
    press = db.query(
        "SELECT kind FROM events WHERE device_id = ? AND kind IN (?, ?) ORDER BY seq DESC LIMIT 1",
        (device_id, EventKind.ALARM_PRESS.value, EventKind.ALARM_RELEASE.value),
    )
    if press:
        levels["press"] = press[0]["kind"] == EventKind.ALARM_PRESS.value
    tamper = db.query(
        "SELECT payload FROM events WHERE device_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
        (device_id, EventKind.DEVICE_TAMPER.value),
    )
    if tamper:
        levels["tamper"] = json.loads(tamper[0]["payload"]).get("state", "active") == "active"
    return levels


def payloads(db: Database, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The payloads of some events by id (an alarm's triggering event tells what happened)."""
    if not event_ids:
        return {}
    marks = ",".join("?" * len(event_ids))
    rows = db.query(f"SELECT id, payload FROM events WHERE id IN ({marks})", tuple(event_ids))  # noqa: S608
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        payload = json.loads(r["payload"]) if r["payload"] else {}
        out[r["id"]] = payload if isinstance(payload, dict) else {}
    return out


def event_exists(db: Database, event_id: str) -> bool:
    return bool(db.query("SELECT 1 AS x FROM events WHERE id = ?", (event_id,)))
