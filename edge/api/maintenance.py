"""Maintenance (test) mode on/off, as the API asks for it.

The rule engine owns device states; when it runs it registers its own `MaintenanceControl` in
`AppState.maintenance` so its in-memory state follows. `StoreMaintenance` is the default: it writes
the same rows the rule engine would (state, audit, change feed) in one transaction, which is what a
daemon without the rule engine (or a test) needs.
"""

from __future__ import annotations

from typing import Protocol

from edge.events import now_ms
from edge.store import Database, changes
from edge.store.devices import set_state
from edge.store.misc import audit

MAINTENANCE = "maintenance"


class MaintenanceControl(Protocol):
    def set(self, device_id: str, minutes: int, actor: str) -> int | None:
        """Put the device in maintenance until now + minutes; the end time (ms), or None if no such device."""

    def clear(self, device_id: str, actor: str) -> bool:
        """End maintenance now; False if no such device."""


class StoreMaintenance:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, device_id: str, minutes: int, actor: str) -> int | None:
        ts = now_ms()
        until = ts + minutes * 60_000
        with self.db.tx() as conn:
            if conn.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).fetchone() is None:
                return None
            set_state(conn, device_id, MAINTENANCE, ["maintenance"], ts, maintenance_until_ms=until)
            audit(conn, actor, "device.maintenance", device_id, {"minutes": minutes, "until_ms": until})
            changes.record_change(
                conn, changes.DEVICE, device_id, {"state": MAINTENANCE, "until_ms": until, "by": actor}
            )
        return until

    def clear(self, device_id: str, actor: str) -> bool:
        ts = now_ms()
        with self.db.tx() as conn:
            if conn.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).fetchone() is None:
                return False
            # 'unknown' until the next message or check says otherwise: maintenance hid the real state.
            set_state(conn, device_id, "unknown", ["maintenance_ended"], ts, maintenance_until_ms=None)
            audit(conn, actor, "device.maintenance_end", device_id, {})
            changes.record_change(conn, changes.DEVICE, device_id, {"state": "unknown", "by": actor})
        return True
