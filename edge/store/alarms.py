"""Alarm and operator-flag lifecycle: open -> acknowledged -> closed. Only a person closes one."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.events import now_ms
from edge.states import AlarmState
from edge.store import changes
from edge.store.db import Database
from edge.store.misc import audit


class AlarmStateError(Exception):
    """The requested transition is not allowed from the alarm's current state."""


def open_alarm(
    conn: sqlite3.Connection,
    *,
    alarm_id: str,
    event_id: str,
    device_id: str,
    category: str,
    kind: str,
    severity: str,
    message: str,
    zone: int | None,
    location: str,
    test: bool,
    opened_ms: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert inside the caller's transaction; `extra` goes on the change feed only (e.g. message_en)."""
    row = {
        "id": alarm_id,
        "event_id": event_id,
        "device_id": device_id,
        "category": category,
        "kind": kind,
        "zone": zone,
        "location": location,
        "severity": severity,
        "message": message,
        "state": AlarmState.OPEN,
        "test": int(test),
        "opened_ms": opened_ms,
        "updated_ms": opened_ms,
    }
    conn.execute(
        f"INSERT INTO alarms ({','.join(row)}) VALUES ({','.join('?' * len(row))})",  # noqa: S608
        tuple(row.values()),
    )
    feed = {"state": AlarmState.OPEN, "device_id": device_id, "kind": kind, "category": category, "severity": severity}
    changes.record_change(conn, changes.ALARM, alarm_id, {**feed, "message": message, **(extra or {})})
    return row


def _get(conn: sqlite3.Connection, alarm_id: str) -> dict[str, Any] | None:
    cur = conn.execute("SELECT * FROM alarms WHERE id = ?", (alarm_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def acknowledge_in(conn: sqlite3.Connection, alarm_id: str, actor: str, note: str, ts: int) -> dict[str, Any] | None:
    """Inside the caller's transaction (the runtime's). None when there is no such alarm; acknowledging
    twice is an error, not a silent overwrite."""
    row = _get(conn, alarm_id)
    if row is None:
        return None
    if row["state"] != AlarmState.OPEN:
        raise AlarmStateError(f"alarm is {row['state']}, not open")
    conn.execute(
        "UPDATE alarms SET state=?, acked_ms=?, acked_by=?, ack_note=?, updated_ms=? WHERE id=?",
        (AlarmState.ACKNOWLEDGED, ts, actor, note, ts, alarm_id),
    )
    audit(conn, actor, "alarm.ack", alarm_id, {"note": note})
    changes.record_change(conn, changes.ALARM, alarm_id, {"state": AlarmState.ACKNOWLEDGED, "by": actor})
    return _get(conn, alarm_id)


def close_in(conn: sqlite3.Connection, alarm_id: str, actor: str, reason: str, ts: int) -> dict[str, Any] | None:
    """The manual reset (GB 50394): from open or acknowledged to closed, with the reason audited."""
    row = _get(conn, alarm_id)
    if row is None:
        return None
    if row["state"] == AlarmState.CLOSED:
        raise AlarmStateError("alarm is already closed")
    conn.execute(
        "UPDATE alarms SET state=?, closed_ms=?, closed_by=?, close_reason=?, updated_ms=? WHERE id=?",
        (AlarmState.CLOSED, ts, actor, reason, ts, alarm_id),
    )
    audit(conn, actor, "alarm.close", alarm_id, {"reason": reason})
    changes.record_change(conn, changes.ALARM, alarm_id, {"state": AlarmState.CLOSED, "by": actor})
    return _get(conn, alarm_id)


def acknowledge(db: Database, alarm_id: str, actor: str, note: str) -> dict[str, Any] | None:
    """For a store no daemon runs on (test fixtures, offline tools); the daemon acks through its runtime."""
    with db.tx() as conn:
        return acknowledge_in(conn, alarm_id, actor, note, now_ms())


def close(db: Database, alarm_id: str, actor: str, reason: str) -> dict[str, Any] | None:
    """For a store no daemon runs on (test fixtures, offline tools); the daemon closes through its runtime."""
    with db.tx() as conn:
        return close_in(conn, alarm_id, actor, reason, now_ms())


def escalate(conn: sqlite3.Connection, alarm_id: str, severity: str, ts_ms: int) -> None:
    conn.execute(
        "UPDATE alarms SET severity=?, escalated_ms=?, updated_ms=? WHERE id=? AND state=?",
        (severity, ts_ms, ts_ms, alarm_id, AlarmState.OPEN),
    )
    changes.record_change(
        conn, changes.ALARM, alarm_id, {"state": AlarmState.OPEN, "severity": severity, "escalated": True}
    )


def get_alarm(db: Database, alarm_id: str) -> dict[str, Any] | None:
    rows = db.query("SELECT * FROM alarms WHERE id = ?", (alarm_id,))
    return rows[0] if rows else None


def list_alarms(
    db: Database,
    *,
    state: str | None = None,
    category: str | None = None,
    before_ms: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; page with `before_ms` = the last row's opened_ms."""
    where, params = ["1=1"], []
    for clause, value in (("state = ?", state), ("category = ?", category), ("opened_ms < ?", before_ms)):
        if value is not None:
            where.append(clause)
            params.append(value)
    params.append(limit)
    return db.query(
        f"SELECT * FROM alarms WHERE {' AND '.join(where)} "  # noqa: S608 - clauses are ours
        "ORDER BY opened_ms DESC, id DESC LIMIT ?",
        tuple(params),
    )


def open_alarms(db: Database) -> list[dict[str, Any]]:
    return db.query("SELECT * FROM alarms WHERE state != ? ORDER BY opened_ms", (AlarmState.CLOSED,))
