"""Maintenance (test) mode on/off for the API, carried out by the rule engine's functions.

`AppState.runtime` is the daemon's running `Runtime` (takes effect at once); without one (tests, a
second process) the store is written and the runtime picks the change up on its next tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, status

from edge.rules.maintenance import MaintenanceError, clear_maintenance, set_maintenance

if TYPE_CHECKING:
    from edge.api.state import AppState

NOT_FOUND = "没有这个设备 / no such device"


def _exists(state: AppState, device_id: str) -> bool:
    return bool(state.db.query("SELECT 1 AS x FROM devices WHERE id = ?", (device_id,)))


def start(state: AppState, device_id: str, minutes: int, actor: str) -> dict[str, Any]:
    """404 for an unknown device, 422 for minutes beyond the configured maximum."""
    if not _exists(state, device_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    try:
        return set_maintenance(state.runtime or state.db, device_id, minutes, actor)
    except MaintenanceError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def end(state: AppState, device_id: str, actor: str) -> dict[str, Any]:
    if not _exists(state, device_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    try:
        return clear_maintenance(state.runtime or state.db, device_id, actor)
    except MaintenanceError as exc:  # the runtime does not know the device (config changed under it)
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
