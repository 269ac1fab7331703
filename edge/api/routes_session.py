"""People log in: POST /session with a name and password sets an HttpOnly, SameSite=Strict cookie;
DELETE /session logs out. Failed logins are slowed per address and per account, never refused for a
right password because somebody else got theirs wrong (edge.api.login.check_password)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response, status

from edge.api import auth
from edge.api.deps import get_state
from edge.api.login import BAD_LOGIN, LoginBody, LoginOut, check_password, clear_cookie, set_cookie
from edge.api.maintenance import runtime_of
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.events import now_ms
from edge.store.sessions import delete_sessions, put_session, touch_sessions

__all__ = ["LoginBody", "LoginOut", "flush_sessions", "router"]

router = APIRouter(tags=["session"])


@router.post(
    "/session",
    response_model=LoginOut,
    responses={
        401: {"description": BAD_LOGIN},
        429: {"description": "too many failures"},
        503: {"description": "busy"},
    },
)
async def login(
    request: Request,
    response: Response,
    body: LoginBody = Body(...),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
) -> LoginOut:
    role = (await check_password(request, state, body)).label
    addr = request.client.host if request.client else ""
    sid, session = state.sessions.create(body.username, body.kiosk, now_ms(), addr)
    row = session.as_row()
    await runtime_of(state).command(
        lambda conn, _now: put_session(conn, row), actor=body.username, action="session.login", ref=addr
    )
    lifetime = state.sessions.lifetime_ms(session) // 1000
    set_cookie(response, request, sid, lifetime if body.kiosk else None)  # kiosk: survives a browser restart
    return LoginOut(name=body.username, role=role, csrf=session.csrf, kiosk=body.kiosk, idle_timeout_s=lifetime)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses={503: {}})
async def logout(
    request: Request,
    state: AppState = Depends(get_state),  # noqa: B008
    who: Principal = Depends(auth.viewer),  # noqa: B008
) -> Response:
    """End this login (its live stream ends too). A token caller has no session: nothing to end."""
    if who.session is not None:
        h = who.session
        state.sessions.drop(h)
        await runtime_of(state).command(
            lambda conn, _now: delete_sessions(conn, [h]), actor=who.name, action="session.logout", ref=""
        )
    out = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_cookie(out, request)
    return out


async def flush_sessions(state: AppState) -> dict[str, Any]:
    """Write the sessions' last-use times (the daemon calls this once a minute)."""
    dirty = state.sessions.take_dirty()
    if dirty and state.runtime is not None:
        await state.runtime.command(
            lambda conn, _now: touch_sessions(conn, dirty), actor="", action="", ref="", audited=False
        )
    return {"written": len(dirty)}
