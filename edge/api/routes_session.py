"""People log in: POST /session with a name and password sets an HttpOnly, SameSite=Strict cookie;
DELETE /session logs out. Failed logins are slowed per address and per account, never refused for a
right password because somebody else got theirs wrong (edge.api.ratelimit's slow lane)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from edge.api import auth
from edge.api.deps import get_state
from edge.api.maintenance import runtime_of
from edge.api.sessions import COOKIE
from edge.api.state import AppState
from edge.api.tokens import Principal
from edge.api.users import MAX_PASSWORD
from edge.api.verifier import VerifierBusy
from edge.events import now_ms
from edge.metrics import bad_input
from edge.store.sessions import delete_sessions, put_session, touch_sessions

router = APIRouter(tags=["session"])

_BAD = "用户名或密码错误 / wrong user name or password"


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    kiosk: bool = Field(
        False, description="The duty-room screen: stays logged in for api.kiosk_days, not the idle time-out"
    )


class LoginOut(BaseModel):
    name: str
    role: str
    csrf: str = Field(description="Send as X-CSRF-Token on every POST, PUT and DELETE")
    kiosk: bool
    idle_timeout_s: int


def _cookie(response: Response, request: Request, value: str, max_age: int | None) -> None:
    response.set_cookie(
        COOKIE, value, max_age=max_age, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


async def _check(request: Request, state: AppState, body: LoginBody) -> str:
    """The password check, slowed for an address or an account with recent failures; the role label."""
    started = time.monotonic()
    addr = request.client.host if request.client else "unknown"
    account = f"user:{body.username}"
    waits = [state.auth_limiter.admit(addr), state.login_limiter.admit(account)]
    if None in waits:
        for limiter, key, w in ((state.auth_limiter, addr, waits[0]), (state.login_limiter, account, waits[1])):
            if w is not None:
                limiter.done(key, failed=False)
        auth.AUTH_FAILURES.labels(reason="rate_limited").inc()
        too_many = "登录失败次数过多，请稍后再试 / too many failed logins, try later"
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, too_many, headers={"Retry-After": "5"})
    role = None
    checked = False
    try:
        wait = max(w for w in waits if w is not None)
        if wait > 0:
            auth.AUTH_FAILURES.labels(reason="delayed").inc()
            await asyncio.sleep(wait)
        role = await state.verifier.run(state.users.verify, body.username, body.password)
        checked = True
    except VerifierBusy:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "服务繁忙 / busy, try again", headers={"Retry-After": "1"}
        ) from None
    finally:
        state.auth_limiter.done(addr, failed=checked and role is None)
        state.login_limiter.done(account, failed=checked and role is None)
    if role is None:
        await asyncio.sleep(max(0.0, auth.FAIL_FLOOR_S - (time.monotonic() - started)))
        auth.AUTH_FAILURES.labels(reason="bad_password").inc()
        bad_input(auth.log, "api-login", "bad_password", f"from {addr} for {body.username[:64]!r}")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _BAD)
    return role.label


@router.post(
    "/session",
    response_model=LoginOut,
    responses={401: {"description": _BAD}, 429: {"description": "too many failures"}, 503: {"description": "busy"}},
)
async def login(
    request: Request,
    response: Response,
    body: LoginBody = Body(...),  # noqa: B008
    state: AppState = Depends(get_state),  # noqa: B008
) -> LoginOut:
    role = await _check(request, state, body)
    addr = request.client.host if request.client else ""
    sid, session = state.sessions.create(body.username, body.kiosk, now_ms(), addr)
    row = session.as_row()
    await runtime_of(state).command(
        lambda conn, _now: put_session(conn, row), actor=body.username, action="session.login", ref=addr
    )
    lifetime = state.sessions.lifetime_ms(session) // 1000
    _cookie(response, request, sid, lifetime if body.kiosk else None)  # kiosk: survives a browser restart
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
    out.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return out


async def flush_sessions(state: AppState) -> dict[str, Any]:
    """Write the sessions' last-use times (the daemon calls this once a minute)."""
    dirty = state.sessions.take_dirty()
    if dirty and state.runtime is not None:
        await state.runtime.command(
            lambda conn, _now: touch_sessions(conn, dirty), actor="", action="", ref="", audited=False
        )
    return {"written": len(dirty)}
