"""GET /stream: the change feed as server-sent events, resumable with Last-Event-ID.

Each committed event, alarm change and device change goes out as ``id: <seq>``, ``event: <type>``
(event, alarm, device, relay) and ``data: {"seq", "time", "type", "ref", "data"}``. A client that
reconnects with ``Last-Event-ID: <seq>`` gets every change after that one, in order, exactly once.

Auth is the usual bearer header. Browsers' EventSource cannot send headers, so the dashboard reads
the stream with fetch() instead; the token never appears in a URL or an access log. When the token
is revoked the stream sends ``event: revoked`` and ends (a reconnect then gets 401).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from prometheus_client import Counter

from edge.api import auth
from edge.api.deps import get_state
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.events import iso_ms
from edge.metrics import bad_input
from edge.store.changes import changes_after, last_seq

log = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])


def _session_alive(state: AppState, who: Principal) -> bool:
    """A login's stream ends with the login: logged out, timed out elsewhere, or the account disabled."""
    if who.session is None:
        return True
    return state.sessions.alive(who.session) and state.users.active(who.name) is not None


# The hub rings on every commit in this process; polling at 1 s as well keeps the "within 1 s" promise
# for commits it cannot hear (another process or thread writing the same database).
POLL_S = 1.0
# A comment line this often keeps proxies and the browser from timing an idle stream out.
KEEPALIVE_S = 15.0
BATCH = 500  # changes read per query while catching up
# A gateway serves a few duty-room screens and phones; more streams than this is a misbehaving client.
MAX_STREAMS = 64
RETRY_MS = 2000  # what browsers wait before reconnecting
STREAMS_REVOKED = Counter("edge_api_streams_revoked_total", "Live streams ended because their token was revoked")


def _frame(row: dict[str, Any]) -> str:
    body = {
        "seq": row["seq"],
        "time": iso_ms(row["ts_ms"]),
        "type": row["type"],
        "ref": row["ref"],
        "data": json.loads(row["data"]),
    }
    return f"id: {row['seq']}\nevent: {row['type']}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"


def _start(state: AppState, header: str | None) -> tuple[int, bool]:
    """(seq to continue after, whether the client must reload everything)."""
    newest = last_seq(state.db)
    if header is None:
        return newest, False
    if not header.strip().isdigit() or len(header.strip()) > 18:
        bad_input(log, "api-stream", "bad_last_event_id", header[:40])
        return newest, True
    after = int(header.strip())
    if after > newest:  # the database was replaced under the client: it has to start over
        return newest, True
    return after, False


class _Counter:
    active = 0


async def _changes(state: AppState, who: Principal, after: int, reset: bool) -> AsyncIterator[str]:
    _Counter.active += 1
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield f"event: {'reset' if reset else 'hello'}\ndata: {json.dumps({'seq': after})}\n\n"
        idle = 0.0
        while not state.closing.is_set():
            # Checked every round (at most POLL_S apart): a revoked token's stream ends within a second.
            await auth.fresh_tokens(state)
            if not state.tokens.still_valid(who, refresh=False) or not _session_alive(state, who):
                STREAMS_REVOKED.inc()
                log.info("api: stream of %s ended: its token was revoked or its login ended", who.name)
                yield "event: revoked\ndata: {}\n\n"
                return
            rows = changes_after(state.db, after, BATCH)
            for row in rows:
                yield _frame(row)
                after = row["seq"]
            if len(rows) == BATCH:
                continue
            if rows or await state.hub.wait(POLL_S):
                idle = 0.0
                continue
            idle += POLL_S
            if idle >= KEEPALIVE_S:
                idle = 0.0
                yield ": keepalive\n\n"
    finally:
        _Counter.active -= 1


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}, 503: {}},
)
async def stream(
    request: Request,
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.viewer),  # noqa: B008
) -> StreamingResponse:
    if _Counter.active >= MAX_STREAMS:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "too many live streams", {"Retry-After": "10"})
    after, reset = _start(state, request.headers.get("last-event-id"))
    return StreamingResponse(
        _changes(state, who, after, reset),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
