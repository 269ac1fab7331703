"""The e-map: floor plans (one per building or floor) and where each device sits on them.

Technicians upload plans and place devices; everyone who can see the dashboard can see the map.
Writes are commands to the runtime (the one writer), audited with the person's name."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Response, status
from pydantic import BaseModel, Field

from edge.api import auth
from edge.api.deps import get_state
from edge.api.maintenance import runtime_of
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.emap.image import MAX_IMAGE_BYTES, ImageError, inspect_image
from edge.events import iso_ms
from edge.store import changes, emap
from edge.store.devices import device_ids

router = APIRouter(tags=["e-map"])

PlanId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
_NOT_FOUND = "没有这张平面图 / no such floor plan"
_404: dict[int | str, dict[str, Any]] = {404: {"description": _NOT_FOUND}}


class FloorplanBody(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="e.g. 教学楼一层")
    building: str = Field("", max_length=64)
    floor: str = Field("", max_length=32)
    sort: int = Field(0, ge=0, le=10_000, description="Order of the tabs")
    image: str = Field(max_length=MAX_IMAGE_BYTES * 4 // 3 + 8, description="PNG or JPEG, base64-encoded")


class Point(BaseModel):
    x: float = Field(ge=0, le=1, description="From the left edge, as a fraction of the width")
    y: float = Field(ge=0, le=1, description="From the top edge, as a fraction of the height")


class PositionsBody(BaseModel):
    positions: dict[str, Point | None] = Field(description="device id -> point on this plan; null takes it off")


def _plan_json(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "name": p["name"],
        "building": p["building"],
        "floor": p["floor"],
        "sort": p["sort"],
        "width": p["width"],
        "height": p["height"],
        "updated_at": iso_ms(int(p["updated_ms"])),
        "image": f"/api/v1/floorplans/{p['id']}/image",
        "positions": p["positions"],
    }


@router.get("/floorplans")
def list_floorplans(
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> list[dict[str, Any]]:
    """Every floor plan with the devices placed on it (positions as fractions of the image)."""
    return [_plan_json(p) for p in emap.floorplans(state.db)]


@router.get(
    "/floorplans/{plan_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, **_404},
)
def floorplan_image(
    plan_id: PlanId,
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Response:
    found = emap.floorplan_image(state.db, plan_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    data, content_type, _updated = found
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, no-cache"})


@router.put(
    "/floorplans/{plan_id}",
    responses={400: {"description": "not a PNG or JPEG, or too large"}, 503: {"description": "core not running"}},
)
async def put_floorplan(
    plan_id: PlanId,
    body: FloorplanBody = Body(...),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.technician),  # noqa: B008
) -> dict[str, Any]:
    """Upload or replace a floor plan (devices already placed on it keep their positions)."""
    try:
        data = base64.b64decode(body.image, validate=True)
        content_type, width, height = inspect_image(data)
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            str(exc) if isinstance(exc, ImageError) else "图片不是 base64 / image is not base64",
        ) from None
    image = (data, content_type, width, height)
    await runtime_of(state).command(
        lambda conn, now: emap.put_floorplan(
            conn, plan_id, body.name, body.building, body.floor, image, body.sort, now
        ),
        actor=who.name,
        action="floorplan.put",
        ref=plan_id,
        feed=changes.MAP,
    )
    state.hub.ring()
    return next(_plan_json(p) for p in emap.floorplans(state.db) if p["id"] == plan_id)


@router.delete("/floorplans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**_404, 503: {}})
async def delete_floorplan(
    plan_id: PlanId,
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.technician),  # noqa: B008
) -> Response:
    removed = await runtime_of(state).command(
        lambda conn, _now: emap.delete_floorplan(conn, plan_id),
        actor=who.name,
        action="floorplan.delete",
        ref=plan_id,
        feed=changes.MAP,
    )
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    state.hub.ring()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/floorplans/{plan_id}/positions",
    responses={**_404, 400: {"description": "an unknown device"}, 503: {}},
)
async def put_positions(
    plan_id: PlanId,
    body: PositionsBody = Body(...),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.technician),  # noqa: B008
) -> dict[str, Any]:
    """Place devices on this plan (a device sits on one plan at a time) or take them off (null)."""
    if not emap.floorplan_exists(state.db, plan_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    unknown = sorted(set(body.positions) - device_ids(state.db))
    if unknown:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"没有这个设备 / unknown device {unknown[0]!r}")
    points = {d: (p.x, p.y) if p is not None else None for d, p in body.positions.items()}
    await runtime_of(state).command(
        lambda conn, now: emap.put_positions(conn, plan_id, points, now),
        actor=who.name,
        action="floorplan.positions",
        ref=plan_id,
        feed=changes.MAP,
    )
    state.hub.ring()
    return next(_plan_json(p) for p in emap.floorplans(state.db) if p["id"] == plan_id)
