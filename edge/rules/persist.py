"""The engine state in the store: saved as JSON in `meta` with every change, so a restart keeps open
alarms, escalation timers, maintenance windows, device conditions and owed restores.

If the saved state is missing or unreadable, it is rebuilt from the alarms and device_state tables
(open alarms, device states and maintenance survive; per-condition detail starts afresh).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from edge.rules.settings import AlarmSettings
from edge.rules.state import AlarmTrack, DeviceState, DeviceTrack, EngineState
from edge.rules.step import next_severity
from edge.store import Database
from edge.store.alarms import ACKNOWLEDGED, ALARM, CLOSED
from edge.store.misc import get_meta, set_meta

log = logging.getLogger(__name__)

STATE_KEY = "rules.state"
# Bumped when EngineState's JSON shape changes incompatibly; an old blob is then rebuilt from tables.
STATE_VERSION = 1


def save_state(conn: sqlite3.Connection, st: EngineState) -> None:
    blob = {"version": STATE_VERSION, "state": st.to_json()}
    set_meta(conn, STATE_KEY, json.dumps(blob, ensure_ascii=False, separators=(",", ":")))


def load_state(db: Database, alarms: AlarmSettings) -> EngineState:
    raw = get_meta(db, STATE_KEY)
    if raw is not None:
        try:
            blob = json.loads(raw)
            if blob.get("version") == STATE_VERSION:
                return EngineState.from_json(blob["state"])
            log.warning("rules: saved engine state has version %s; rebuilding from the store", blob.get("version"))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("rules: saved engine state unreadable (%s); rebuilding from the store", exc)
    return rebuild(db, alarms)


def _track(row: dict[str, Any]) -> DeviceTrack:
    try:
        state = DeviceState(row["state"])
    except ValueError:
        state = DeviceState.UNKNOWN
    return DeviceTrack(
        state=state,
        reasons=tuple(json.loads(row["reasons"] or "[]")),
        since_ms=int(row["since_ms"]),
        last_seen_ms=row["last_seen_ms"],
        maintenance_until_ms=row["maintenance_until_ms"],
    )


def rebuild(db: Database, settings: AlarmSettings) -> EngineState:
    devices = {r["device_id"]: _track(r) for r in db.query("SELECT * FROM device_state")}
    alarms: dict[str, AlarmTrack] = {}
    for r in db.query("SELECT * FROM alarms WHERE state != ? AND test = 0", (CLOSED,)):
        pending = r["escalated_ms"] is None and r["state"] != ACKNOWLEDGED
        alarms[r["id"]] = AlarmTrack(
            device_id=r["device_id"],
            category=r["category"],
            condition=None,
            severity=r["severity"],
            opened_ms=r["opened_ms"],
            kind=r["kind"],
            message=r["message"],
            acked=r["state"] == ACKNOWLEDGED,
            latched=True,  # the condition it tracked is not known any more: leave closing to a person
            escalate_at_ms=r["opened_ms"] + int(settings.escalate_after * 1000) if pending else None,
            escalate_to=next_severity(r["severity"]) if pending else None,
            webhooks=tuple(
                {"url": h.url, "secret_file": str(h.secret_file) if h.secret_file else None}
                for h in settings.escalation
            )
            if r["category"] == ALARM
            else (),
        )
    return EngineState(devices=devices, alarms=alarms)


def open_alarm_states(conn: sqlite3.Connection) -> dict[str, str]:
    """Every not-closed alarm's state, for `Engine.sync_alarms` (the alarms_state index serves it)."""
    rows = conn.execute("SELECT id, state FROM alarms WHERE state != ?", (CLOSED,)).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def maintenance_rows(conn: sqlite3.Connection) -> dict[str, int | None]:
    rows = conn.execute("SELECT device_id, maintenance_until_ms FROM device_state").fetchall()
    return {str(r[0]): r[1] for r in rows}
