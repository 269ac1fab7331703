"""Maintenance / test mode for one device: bounded, auto-expiring, audited, on the change feed.

While a device is in maintenance its events are stored as `test`, reach the police only as
TEST_MANUAL (CID 1601 / SIA RX), open no alarm and raise no flag (faults are held and raised when
it ends if still present). Alarms already open stay open: maintenance cannot disarm them.

Call with the running `Runtime` (takes effect at once) or, from a process without one, with the
`Database` (the runtime picks the change up on its next tick, within about a second).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from edge.events import iso_ms, now_ms
from edge.store import Database, changes
from edge.store.misc import audit

if TYPE_CHECKING:
    from edge.runtime import Runtime

# Used when the caller has no config at hand (the Database path); matches DeviceStateSettings' default.
DEFAULT_MAX_MINUTES = 480


class MaintenanceError(ValueError):
    """Bad request: unknown device, or minutes outside 1..max."""


def check_minutes(minutes: float, max_minutes: int) -> float:
    if not 0 < minutes <= max_minutes:
        raise MaintenanceError(f"minutes must be more than 0 and at most {max_minutes}")
    return float(minutes)


def record(conn: sqlite3.Connection, actor: str, device_id: str, until_ms: int | None) -> dict[str, Any]:
    detail = {"device_id": device_id, "maintenance_until": iso_ms(until_ms) if until_ms else None}
    audit(conn, actor, "device.maintenance" if until_ms else "device.maintenance_end", device_id, detail)
    return detail


def set_maintenance(target: Runtime | Database, device_id: str, minutes: float, actor: str) -> dict[str, Any]:
    """Put `device_id` in maintenance for `minutes` from now (replacing any current window)."""
    if not isinstance(target, Database):
        return target.set_maintenance(device_id, minutes, actor)
    until = now_ms() + int(check_minutes(minutes, DEFAULT_MAX_MINUTES) * 60_000)
    return _write(target, device_id, until, actor)


def clear_maintenance(target: Runtime | Database, device_id: str, actor: str) -> dict[str, Any]:
    """End maintenance now; held faults are raised and owed restores reported."""
    if not isinstance(target, Database):
        return target.clear_maintenance(device_id, actor)
    return _write(target, device_id, None, actor)


def _write(db: Database, device_id: str, until_ms: int | None, actor: str) -> dict[str, Any]:
    with db.tx() as conn:
        if conn.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).fetchone() is None:
            raise MaintenanceError(f"unknown device {device_id!r}")
        ts = now_ms()
        if until_ms is not None:
            conn.execute(
                "UPDATE device_state SET state='maintenance', maintenance_until_ms=?, since_ms=? WHERE device_id=?",
                (until_ms, ts, device_id),
            )
        else:
            conn.execute("UPDATE device_state SET maintenance_until_ms=NULL WHERE device_id=?", (device_id,))
        detail = record(conn, actor, device_id, until_ms)
        changes.record_change(conn, changes.DEVICE, device_id, {**detail, "by": actor})
    return detail
