"""Patrol records: check-ins from guards' phones and apps, and the day's rounds per plan."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response, status
from fastapi import Path as FastPath
from pydantic import BaseModel, Field

from edge.api import auth
from edge.api.deps import get_state
from edge.api.maintenance import runtime_of
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.drivers.mqtt_patrol import CHECKINS
from edge.events import now_ms
from edge.patrol.checkin import MAX_NOTE, MAX_PHOTO_BYTES, CheckinError, Source, make_checkin
from edge.patrol.day import day_json, load_day
from edge.store.patrol import checkin_photo

router = APIRouter(tags=["patrol"])

_NO_PATROL = "未配置巡查 / no patrol section in the config"
_NO_CONFIG: dict[int | str, dict[str, Any]] = {404: {"description": _NO_PATROL}}


class CheckinBody(BaseModel):
    tag: str = Field(min_length=1, max_length=128, description="The checkpoint's tag or QR value")
    ts: float | None = Field(None, description="Seconds since 1970 (UTC); default: now")
    guard: str | None = Field(None, max_length=64, description="Default: the logged-in person or token name")
    note: str = Field("", max_length=MAX_NOTE, description="A problem found at the checkpoint")
    photo: str | None = Field(
        None, max_length=MAX_PHOTO_BYTES * 4 // 3 + 8, description="A JPEG of the problem, base64-encoded"
    )
    source: Source = Field(Source.API, description="`phone` from the gateway's scan page")


class CheckinOut(BaseModel):
    checkpoint: str
    name: str
    recorded: bool = Field(description="False when the same check-in was already stored")
    at: str


def _jpeg(photo: str | None) -> bytes | None:
    if photo is None:
        return None
    try:
        data = base64.b64decode(photo, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "照片不是 base64 / photo is not base64") from None
    if not data.startswith(b"\xff\xd8"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "照片须为 JPEG / photo must be a JPEG")
    return data


@router.post(
    "/patrol/checkins",
    response_model=CheckinOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **_NO_CONFIG,
        400: {"description": "refused: unknown tag, a time out of range, a photo that is not a JPEG, …"},
        503: {"description": "the alarm core is not running"},
    },
)
async def checkin(
    body: CheckinBody = Body(...),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.guard),  # noqa: B008
) -> CheckinOut:
    """A guard at a checkpoint (the phone page posts here after a scan). Audited by name."""
    patrol = state.config.patrol
    if patrol is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NO_PATROL)
    source = body.source if body.source in (Source.API, Source.PHONE) else Source.API
    now = now_ms()
    try:
        c = make_checkin(
            patrol,
            tag=body.tag,
            ts_s=body.ts if body.ts is not None else now / 1000,
            guard=body.guard or who.name,
            note=body.note,
            photo=_jpeg(body.photo),
            source=source,
            now_ms=now,
            reader=who.name,
        )
    except CheckinError as exc:
        CHECKINS.labels(source=str(source), outcome="rejected").inc()
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    added = await runtime_of(state).record_checkins([c])
    CHECKINS.labels(source=str(source), outcome="recorded" if added else "duplicate").inc()
    state.hub.ring()
    name = next(cp.name for cp in patrol.checkpoints if cp.id == c.checkpoint_id)
    at = dt.datetime.fromtimestamp(c.ts_ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")
    return CheckinOut(checkpoint=c.checkpoint_id, name=name, recorded=bool(added), at=at)


@router.get("/patrol", responses=_NO_CONFIG)
def patrol_day(
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
    date: Annotated[dt.date | None, Query(description="Local date YYYY-MM-DD; default: today")] = None,
) -> dict[str, Any]:
    """Rounds per plan and checkpoint, who walked them and when, what is missing, and the verdict."""
    if state.config.patrol is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NO_PATROL)
    now = now_ms()
    day = date or dt.datetime.fromtimestamp(now / 1000, ZoneInfo(state.config.site.timezone)).date()
    plans, checkins = load_day(state.db, state.config, day, now)
    return day_json(state.config, day, plans, checkins)


@router.get(
    "/patrol/checkins/{seq}/photo",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no photo for this check-in"}},
)
def photo(
    seq: Annotated[int, FastPath(ge=1, le=2**63 - 1)],
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Response:
    data = checkin_photo(state.db, seq)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有照片 / no photo for this check-in")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
