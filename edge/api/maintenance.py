"""Maintenance (test) mode on/off for the API: a command submitted to the runtime, awaited for its result.

The runtime is the one writer of maintenance state; without one (an app built with no daemon) the
write routes answer 503 instead of writing the store behind the rules' back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, status

from edge.core.maintenance import MaintenanceError
from edge.store.queries import device_exists

if TYPE_CHECKING:
    from edge.api.state import AppState
    from edge.runtime import Runtime

NOT_FOUND = "没有这个设备 / no such device"
NO_RUNTIME = "报警核心未运行 / the alarm core is not running"


def runtime_of(state: AppState) -> Runtime:
    if state.runtime is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NO_RUNTIME)
    return state.runtime


def _exists(state: AppState, device_id: str) -> bool:
    return device_exists(state.db, device_id)


async def start(state: AppState, device_id: str, minutes: int, actor: str) -> dict[str, Any]:
    """404 for an unknown device, 422 for minutes beyond the configured maximum."""
    runtime = runtime_of(state)
    if not _exists(state, device_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    try:
        return await runtime.set_maintenance(device_id, minutes, actor)
    except MaintenanceError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


async def end(state: AppState, device_id: str, actor: str) -> dict[str, Any]:
    runtime = runtime_of(state)
    if not _exists(state, device_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    try:
        return await runtime.clear_maintenance(device_id, actor)
    except MaintenanceError as exc:  # the runtime does not know the device (config changed under it)
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
