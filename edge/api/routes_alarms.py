"""Alarms and operator flags: list, read, acknowledge, close (the manual reset). Writes are audited.

Writes are commands submitted to the runtime (the one writer of alarm state) and awaited: the
engine takes an ack in at once (its escalation stops), and the commit happens off the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Response, status

from edge.api import auth
from edge.api.byteranges import ranged
from edge.api.deps import get_state
from edge.api.maintenance import runtime_of
from edge.api.models import AckBody, Alarm, AlarmPage, CloseBody
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.api.views import to_alarms
from edge.events import iso_ms
from edge.states import AlarmCategory, AlarmState
from edge.store import alarms as store
from edge.store import media
from edge.store.clips import clip_video
from edge.store.queries import AlarmFilter, alarm_page

router = APIRouter(tags=["alarms"])

# A page size bound that keeps one response small on a phone; the dashboard asks for 50.
MAX_PAGE = 500
_NOT_FOUND = "没有这个报警 / no such alarm"


# "<opened_ms>:<alarm id>" of the last row: (time, id) orders alarms opened in the same millisecond.
CURSOR = r"^[0-9]{1,18}:.+$"


@router.get("/alarms", response_model=AlarmPage)
def list_alarms(
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
    alarm_state: Annotated[AlarmState | None, Query(alias="state")] = None,
    category: AlarmCategory | None = None,
    device: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(pattern=CURSOR, description="next_cursor of the previous page")] = None,
) -> AlarmPage:
    """Newest first. `next_cursor` continues with older alarms."""
    before = None
    if cursor is not None:
        ms, _sep, alarm_id = cursor.partition(":")
        before = (int(ms), alarm_id)
    rows = alarm_page(state.db, AlarmFilter(alarm_state, category, device, before), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1]['opened_ms']}:{rows[-1]['id']}" if more else None
    return AlarmPage(items=to_alarms(state.db, rows), next_cursor=next_cursor)


@router.get("/alarms/{alarm_id}", response_model=Alarm, responses={404: {}})
def get_alarm(
    alarm_id: str,
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Alarm:
    row = store.get_alarm(state.db, alarm_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    return to_alarms(state.db, [row])[0]


@router.get(
    "/alarms/{alarm_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "JPEG; its time in X-Snapshot-Time"}, 404: {}},
)
def alarm_snapshot(
    alarm_id: str,
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Response:
    """The linked camera's picture, taken by the camera worker within a second of the press."""
    event_id = media.alarm_event(state.db, alarm_id)
    found = media.media_picture(state.db, event_id) if event_id is not None else None
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有现场画面 / no picture for this alarm")
    jpeg, ts_ms = found
    return Response(jpeg, media_type="image/jpeg", headers={"X-Snapshot-Time": iso_ms(ts_ms)})


@router.get(
    "/alarms/{alarm_id}/clip",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "MP4 (H.264); byte ranges honoured"},
        206: {"description": "the asked byte range"},
        404: {},
        416: {},
    },
)
def alarm_clip(
    alarm_id: str,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
) -> Response:
    """The recorder's video of the seconds before the press (ONVIF replay), fetched by the camera worker."""
    event_id = media.alarm_event(state.db, alarm_id)
    mp4 = clip_video(state.db, event_id) if event_id is not None else None
    if mp4 is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有录像片段 / no recorded clip for this alarm")
    return ranged(mp4, range_header, "video/mp4", {"Cache-Control": "private, max-age=300"})


@router.post("/alarms/{alarm_id}/ack", response_model=Alarm, responses={404: {}, 409: {}})
async def acknowledge(
    alarm_id: str,
    body: AckBody = Body(default_factory=AckBody),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.operator),  # noqa: B008
) -> Alarm:
    """Open -> acknowledged. 409 when it is not open any more."""
    return await _transition(state, runtime_of(state).acknowledge(alarm_id, who.name, body.note))


@router.post("/alarms/{alarm_id}/close", response_model=Alarm, responses={404: {}, 409: {}})
async def close(
    alarm_id: str,
    body: CloseBody,
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.operator),  # noqa: B008
) -> Alarm:
    """The manual reset (GB 50394): open or acknowledged -> closed, with a reason. 409 if already closed."""
    return await _transition(state, runtime_of(state).close_alarm(alarm_id, who.name, body.reason))


async def _transition(state: AppState, change: Awaitable[dict[str, Any] | None]) -> Alarm:
    """Await an audited lifecycle change: 404 for no such alarm, 409 when the state forbids it."""
    try:
        row = await change
    except store.AlarmStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    return to_alarms(state.db, [row])[0]
