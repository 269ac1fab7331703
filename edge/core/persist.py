"""The engine state in the store, so a restart keeps open alarms, escalation timers, maintenance
windows, device conditions and owed restores.

Saved in `meta`, in the same transaction as the event, as one row per device (`rules.dev.<id>`), one
per open alarm (`rules.alarm.<id>`) and one for timers (`rules.timers`). Only rows whose object
changed are written: the engine replaces what it changes and keeps the rest, so `is` finds the
changes, and an event costs a few hundred bytes instead of the whole state.

If nothing was saved (or the shape changed), the state is rebuilt from the alarms and device_state
tables: open alarms, device states and maintenance survive, and every open flag is tied to its
condition again (one open flag per device and cause); other per-condition detail starts afresh.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from edge.config.alarms import AlarmSettings
from edge.rules.state import (
    CHECKS,
    AlarmTrack,
    Condition,
    DeviceTrack,
    EngineState,
    Pending,
    alarm_from_json,
    track_from_json,
    unchecked_key,
)
from edge.rules.step import next_severity
from edge.states import AlarmCategory, AlarmState, DeviceState
from edge.store import Database
from edge.store.misc import set_meta

log = logging.getLogger(__name__)

DEV, ALARM_ROW, TIMERS, VERSION_KEY = "rules.dev.", "rules.alarm.", "rules.timers", "rules.version"
# Bumped when the saved JSON shape changes incompatibly; older rows are then rebuilt from the tables.
STATE_VERSION = "2"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sync_rows(conn: sqlite3.Connection, prefix: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for key, item in new.items():
        if old.get(key) is not item:
            set_meta(conn, prefix + key, _dump(asdict(item)))
    for key in old.keys() - new.keys():
        conn.execute("DELETE FROM meta WHERE key = ?", (prefix + key,))


def save_state(conn: sqlite3.Connection, saved: EngineState | None, st: EngineState) -> None:
    """Write what differs from `saved` (what the store holds now); None = write everything."""
    if saved is None:
        conn.execute("DELETE FROM meta WHERE key LIKE 'rules.%'")
        set_meta(conn, VERSION_KEY, STATE_VERSION)
        saved = EngineState()
    _sync_rows(conn, DEV, saved.devices, st.devices)
    _sync_rows(conn, ALARM_ROW, saved.alarms, st.alarms)
    if (st.pending, st.counts) != (saved.pending, saved.counts):
        timers = {"now_ms": st.now_ms, "pending": [asdict(p) for p in st.pending], "counts": st.counts}
        set_meta(conn, TIMERS, _dump(timers))


def load_state(db: Database, alarms: AlarmSettings) -> EngineState | None:
    """The saved state, or None when there is none usable (then call `rebuild`)."""
    rows = {r["key"]: r["value"] for r in db.query("SELECT key, value FROM meta WHERE key LIKE 'rules.%'")}
    if rows.get(VERSION_KEY) != STATE_VERSION:
        if rows:
            log.warning("rules: saved engine state has version %s; rebuilding it", rows.get(VERSION_KEY))
        return None
    try:
        timers = json.loads(rows.get(TIMERS, '{"now_ms": 0, "pending": [], "counts": {}}'))
        return EngineState(
            now_ms=int(timers["now_ms"]),
            devices={k[len(DEV) :]: track_from_json(json.loads(v)) for k, v in rows.items() if k.startswith(DEV)},
            alarms={
                k[len(ALARM_ROW) :]: alarm_from_json(json.loads(v)) for k, v in rows.items() if k.startswith(ALARM_ROW)
            },
            pending=tuple(Pending(**p) for p in timers["pending"]),
            counts={k: tuple(v) for k, v in timers["counts"].items()},
        )
    except (ValueError, KeyError, TypeError) as exc:
        log.error("rules: saved engine state unreadable (%s); rebuilding it", exc)
        return None


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


# The condition a flag of each event kind stands for (edge.rules.signals.classify).
KIND_CONDITIONS = {
    "device.offline": "offline",
    "device.tamper": "tamper",
    "camera.quality": "quality",
    "camera.retention": "retention",
    "camera.clock": "clock",
    "relay.link": "link",
}


def _condition_of(row: dict[str, Any], track: DeviceTrack | None) -> str | None:
    key = KIND_CONDITIONS.get(row["kind"]) if row["category"] != AlarmCategory.ALARM else None
    if key in CHECKS and track is not None:
        own = [r for r in track.reasons if r.startswith(key + "_")]
        if own and all(r == unchecked_key(key) for r in own):
            return unchecked_key(key)  # a "could not check" note, not the check's failure
    return key


def _relink(devices: dict[str, DeviceTrack], device_id: str, key: str, alarm_id: str, opened_ms: int) -> None:
    """The flag's condition is active again, so the next report of it raises this flag, not a second one."""
    track = devices.get(device_id) or DeviceTrack()
    check = key.removesuffix("_unchecked")
    if check in CHECKS:
        reasons = tuple(r for r in track.reasons if r.startswith(check + "_"))
    else:
        reasons = tuple(r for r in track.reasons if not any(r.startswith(c + "_") for c in CHECKS))
    cond = track.conditions.get(key) or Condition(True, reasons, opened_ms, 1)
    conditions = {**track.conditions, key: Condition(**{**asdict(cond), "flagged": (*cond.flagged, alarm_id)})}
    devices[device_id] = DeviceTrack(
        state=track.state,
        reasons=track.reasons,
        since_ms=track.since_ms,
        last_seen_ms=track.last_seen_ms,
        maintenance_until_ms=track.maintenance_until_ms,
        conditions=conditions,
    )


def rebuild(db: Database, settings: AlarmSettings) -> EngineState:
    devices = {r["device_id"]: _track(r) for r in db.query("SELECT * FROM device_state")}
    alarms: dict[str, AlarmTrack] = {}
    for r in db.query("SELECT * FROM alarms WHERE state != ? AND test = 0 ORDER BY opened_ms", (AlarmState.CLOSED,)):
        pending = r["escalated_ms"] is None and r["state"] != AlarmState.ACKNOWLEDGED
        key = _condition_of(r, devices.get(r["device_id"]))
        if key is not None:
            _relink(devices, r["device_id"], key, r["id"], r["opened_ms"])
        alarms[r["id"]] = AlarmTrack(
            device_id=r["device_id"],
            category=r["category"],
            condition=key,
            severity=r["severity"],
            opened_ms=r["opened_ms"],
            kind=r["kind"],
            message=r["message"],
            acked=r["state"] == AlarmState.ACKNOWLEDGED,
            latched=True,  # the condition it tracked is not known any more: leave closing to a person
            escalate_at_ms=r["opened_ms"] + int(settings.escalate_after * 1000) if pending else None,
            escalate_to=next_severity(r["severity"]) if pending else None,
            webhooks=tuple(
                {"url": h.url, "secret_file": str(h.secret_file) if h.secret_file else None}
                for h in settings.escalation
            )
            if r["category"] == AlarmCategory.ALARM
            else (),
        )
    return EngineState(devices=devices, alarms=alarms)


def open_alarm_states(conn: sqlite3.Connection) -> dict[str, str]:
    """Every not-closed alarm's state, for `Engine.sync_alarms` (the alarms_state index serves it)."""
    rows = conn.execute("SELECT id, state FROM alarms WHERE state != ?", (AlarmState.CLOSED,)).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def maintenance_rows(conn: sqlite3.Connection, device_id: str | None = None) -> dict[str, int | None]:
    """Maintenance windows as the store has them (an API process may have set one directly)."""
    if device_id is None:
        rows = conn.execute("SELECT device_id, maintenance_until_ms FROM device_state").fetchall()
    else:
        rows = conn.execute(
            "SELECT device_id, maintenance_until_ms FROM device_state WHERE device_id = ?", (device_id,)
        ).fetchall()
    return {str(r[0]): r[1] for r in rows}
