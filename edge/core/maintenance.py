"""Maintenance / test mode for one device: bounded, auto-expiring, audited, on the change feed.

While a device is in maintenance its events are stored as `test`, reach the police only as
TEST_MANUAL (CID 1601 / SIA RX), open no alarm and raise no flag (faults are held and raised when
it ends if still present). Alarms already open stay open: maintenance cannot disarm them.

Only the runtime changes maintenance (`Runtime.set_maintenance` / `clear_maintenance`, commands in its
one ordered queue); this module holds the bounds check and the audit record it writes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.events import iso_ms
from edge.store.misc import audit


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
