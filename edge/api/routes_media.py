"""GET /media/{event_id}.jpg?exp=&sig=: the picture at a press through the signed, expiring link the
police got in the DC-09 [V] field; the same link with `.mp4` gives the recorder's clip of the
press. No token: the link itself is the credential (edge.media)."""

from __future__ import annotations

import logging
import re
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response, status
from prometheus_client import Counter

from edge.api.byteranges import ranged
from edge.api.deps import get_state
from edge.api.state import AppState
from edge.metrics import bad_input
from edge.store.clips import clip_video
from edge.store.media import media_picture

log = logging.getLogger(__name__)
router = APIRouter(tags=["media"])
LINKS = Counter("edge_media_links_total", "Signed picture links opened, by outcome", ["outcome"])
_SIG = re.compile(r"^[0-9a-f]{64}$")


def _checked(state: AppState, event_id: str, exp: int, sig: str) -> None:
    signer = state.runtime.signer if state.runtime is not None else None
    verdict = "forged" if signer is None or not _SIG.match(sig) else signer.check(event_id, exp, sig, time.time())
    if verdict is not None:
        LINKS.labels(outcome=verdict).inc()
        bad_input(log, "media-link", verdict, f"event {event_id}")
        if verdict == "expired":
            raise HTTPException(status.HTTP_410_GONE, "链接已过期 / this link has expired")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "链接无效 / this link is not valid")


@router.get(
    "/media/{event_id}.mp4",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}}},
        206: {},
        403: {"description": "forged"},
        404: {},
        410: {"description": "expired"},
    },
)
def signed_clip(
    event_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{8,64}$")],
    exp: Annotated[int, Query(ge=0, le=2**40)],
    sig: Annotated[str, Query(min_length=64, max_length=64)],
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    state: AppState = Depends(get_state),  # noqa: B008
) -> Response:
    """The recorder's clip of the same press, through the same signed link with .mp4 for .jpg."""
    _checked(state, event_id, exp, sig)
    mp4 = clip_video(state.db, event_id)
    if mp4 is None:
        LINKS.labels(outcome="no_clip").inc()
        raise HTTPException(status.HTTP_404_NOT_FOUND, "还没有录像 / no clip (yet)")
    LINKS.labels(outcome="ok").inc()
    return ranged(mp4, range_header, "video/mp4", {"Cache-Control": "private, max-age=300"})


@router.get(
    "/media/{event_id}.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}},
        403: {"description": "forged"},
        404: {},
        410: {"description": "expired"},
    },
)
def signed_picture(
    event_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{8,64}$")],
    exp: Annotated[int, Query(ge=0, le=2**40)],
    sig: Annotated[str, Query(min_length=64, max_length=64)],
    state: AppState = Depends(get_state),  # noqa: B008
) -> Response:
    _checked(state, event_id, exp, sig)
    found = media_picture(state.db, event_id)
    if found is None:
        LINKS.labels(outcome="no_picture").inc()
        raise HTTPException(status.HTTP_404_NOT_FOUND, "还没有画面 / no picture (yet)")
    LINKS.labels(outcome="ok").inc()
    return Response(found[0], media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})
