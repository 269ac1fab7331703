"""GET /events: the event history, newest first, filtered and paged by sequence number."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from edge.api import auth
from edge.api.deps import get_state
from edge.api.models import EventOut, EventPage
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.api.views import relays_for
from edge.events import EventKind, iso_ms
from edge.store.queries import EventFilter, event_page

router = APIRouter(tags=["events"])

MAX_PAGE = 1000  # one page of history; more is what `cursor` is for


def _ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # naive times are taken as UTC, like every time the API returns
    try:
        return int(value.timestamp() * 1000)
    except (OverflowError, OSError, ValueError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "时间超出范围 / time out of range") from exc


@router.get("/events", response_model=EventPage, responses={400: {"description": "time out of range"}})
def list_events(
    state: AppState = Depends(get_state),  # noqa: B008
    _: Principal = Depends(auth.viewer),  # noqa: B008
    since: Annotated[datetime | None, Query(description="ISO 8601; from this time on (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; before this time")] = None,
    kind: Annotated[list[EventKind] | None, Query(description="repeatable")] = None,
    device: str | None = None,
    location: str | None = None,
    test: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,18}$", description="next_cursor of the previous page")
    ] = None,
) -> EventPage:
    query = EventFilter(
        since_ms=_ms(since),
        until_ms=_ms(until),
        kinds=tuple(str(k) for k in kind or ()),
        device_id=device,
        location=location,
        test=test,
        before_seq=int(cursor) if cursor is not None else None,
    )
    rows = event_page(state.db, query, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    relays = relays_for(state.db, [r["id"] for r in rows])
    items = [
        EventOut(
            seq=r["seq"],
            id=r["id"],
            time=iso_ms(r["ts_ms"]),
            device_id=r["device_id"],
            kind=r["kind"],
            payload=json.loads(r["payload"]),
            test=bool(r["test"]),
            relay=relays.get(r["id"]),
        )
        for r in rows
    ]
    return EventPage(items=items, next_cursor=str(rows[-1]["seq"]) if more else None)
