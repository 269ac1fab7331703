"""Devices, maintenance mode and camera thumbnails."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Response, status

from edge.api import auth, maintenance
from edge.api.deps import get_state
from edge.api.models import Device, DeviceType, MaintenanceBody, MaintenanceOut
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.api.views import iso, load_devices
from edge.store.misc import get_snapshot

router = APIRouter(tags=["devices"])

_NOT_FOUND = "没有这个设备 / no such device"


@router.get("/devices", response_model=list[Device])
def list_devices(
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
    type: DeviceType | None = None,
    location: str | None = None,
) -> list[Device]:
    return [d for d in load_devices(state.db) if (type is None or d.type == type) and location in (None, d.location)]


@router.get("/devices/{device_id}", response_model=Device, responses={404: {"description": _NOT_FOUND}})
def get_device(
    device_id: str,
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Device:
    found = load_devices(state.db, device_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    return found[0]


@router.post("/devices/{device_id}/maintenance", response_model=MaintenanceOut, responses={404: {}})
async def start_maintenance(
    device_id: str,
    body: MaintenanceBody = Body(...),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.technician),  # noqa: B008
) -> MaintenanceOut:
    detail = await maintenance.start(state, device_id, body.minutes, who.name)
    state.hub.ring()
    return MaintenanceOut(device_id=device_id, maintenance=True, until=detail.get("maintenance_until"))


@router.delete("/devices/{device_id}/maintenance", response_model=MaintenanceOut, responses={404: {}})
async def end_maintenance(
    device_id: str,
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.technician),  # noqa: B008
) -> MaintenanceOut:
    await maintenance.end(state, device_id, who.name)
    state.hub.ring()
    return MaintenanceOut(device_id=device_id, maintenance=False)


@router.get(
    "/cameras/{camera_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "JPEG; its time in X-Snapshot-Time"}, 404: {}},
)
def snapshot(
    camera_id: str,
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Response:
    found = get_snapshot(state.db, camera_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有快照 / no snapshot for this camera")
    jpeg, ts_ms = found
    return Response(
        jpeg,
        media_type="image/jpeg",
        headers={"X-Snapshot-Time": iso(ts_ms) or "", "Cache-Control": "private, no-store"},
    )
