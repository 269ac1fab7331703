"""Bearer-token auth with roles.

401 for a missing or bad token, 403 for a role too low. A token that verified before is accepted at
once, whatever else its address is doing; only the expensive check of a new token is budgeted per
address (edge.api.ratelimit: delayed, then 429) and bounded overall (edge.api.verifier: 503 when
the hash pool is full). A failed check answers no sooner than `FAIL_FLOOR_S` after the request
arrived, so neither the key id nor the file's cost shows in the response time. Failures are
counted and logged (rate-limited) with the address and reason, never the token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from edge.api.deps import get_state
from edge.api.sessions import COOKIE, CSRF_HEADER
from edge.api.state import AppState
from edge.api.tokens import Principal, Role
from edge.api.verifier import VerifierBusy
from edge.events import now_ms
from edge.metrics import bad_input

log = logging.getLogger(__name__)

# reason: missing, malformed, invalid (a checked token that did not verify), rate_limited (refused
# before checking), busy (the hash pool was full), delayed (checked, after a wait in the slow lane).
AUTH_FAILURES = Counter("edge_api_auth_failures_total", "Rejected or delayed API credentials", ["reason"])
# A failed check takes at least this long: longer than one scrypt at the default cost on the gateway
# (~50 ms), so a known key id and an unknown one, or a cheap entry and a dear one, answer alike.
FAIL_FLOOR_S = 0.1


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Declares the scheme in OpenAPI (the "Authorize" button in /docs); we answer 401 ourselves.
BEARER = HTTPBearer(auto_error=False, description="a token from `edge token create`")


def _unauthorized(request: Request, reason: str) -> HTTPException:
    AUTH_FAILURES.labels(reason=reason).inc()
    bad_input(log, "api-auth", reason, f"from {_client(request)} {request.method} {request.url.path}")
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="需要登录或有效的访问令牌 / log in or send a valid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _refused(request: Request, code: int, reason: str, retry_after: float) -> HTTPException:
    AUTH_FAILURES.labels(reason=reason).inc()
    bad_input(log, "api-auth", reason, f"from {_client(request)} {request.method} {request.url.path}")
    detail = (
        "认证失败次数过多，请稍后再试 / too many failed attempts, try later"
        if code == status.HTTP_429_TOO_MANY_REQUESTS
        else "服务繁忙，请稍后再试 / too many logins being checked, try again shortly"
    )
    return HTTPException(code, detail=detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


async def _check(request: Request, state: AppState, token: str) -> Principal:
    """The expensive path: budgeted per address, off the loop, and slow to fail."""
    started = time.monotonic()
    addr = _client(request)
    wait = state.auth_limiter.admit(addr)
    if wait is None:
        raise _refused(request, status.HTTP_429_TOO_MANY_REQUESTS, "rate_limited", state.auth_limiter.retry_after(addr))
    principal: Principal | None = None
    checked = False  # a refusal or a client gone while waiting is no failed attempt
    try:
        if wait > 0:
            AUTH_FAILURES.labels(reason="delayed").inc()
            await asyncio.sleep(wait)
        principal = await state.verifier.verify(token)
        checked = True
    except VerifierBusy:
        raise _refused(request, status.HTTP_503_SERVICE_UNAVAILABLE, "busy", 1) from None
    finally:
        state.auth_limiter.done(addr, failed=checked and principal is None)
    if principal is None:
        await asyncio.sleep(max(0.0, FAIL_FLOOR_S - (time.monotonic() - started)))
        raise _unauthorized(request, "invalid")
    return principal


async def fresh_tokens(state: AppState) -> None:
    """Re-read a changed tokens file in a thread: parsing YAML on the loop would stall every request."""
    if state.tokens.stale():
        await asyncio.get_running_loop().run_in_executor(None, state.tokens.refresh)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request, state: AppState, session_id: str) -> Principal:
    """A person's login: no hash per request, but the account must still be enabled and every write
    must carry the session's CSRF token (SameSite=Strict is the first line, this the second)."""
    if state.users.stale():
        await asyncio.get_running_loop().run_in_executor(None, state.users.refresh)
    s = state.sessions.get(session_id, now_ms())
    if s is None:
        raise _unauthorized(request, "session_expired")
    role = state.users.active(s.username)
    if role is None:  # disabled or removed since the login
        state.sessions.drop(s.id_hash)
        raise _unauthorized(request, "user_disabled")
    if request.method not in SAFE_METHODS and not state.sessions.csrf_ok(s, request.headers.get(CSRF_HEADER)):
        AUTH_FAILURES.labels(reason="csrf").inc()
        bad_input(log, "api-auth", "csrf", f"from {_client(request)} {request.method} {request.url.path}")
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="缺少或错误的 CSRF 令牌 / missing or wrong CSRF token")
    return Principal(name=s.username, role=role, session=s.id_hash)


async def authenticate(
    request: Request, state: AppState, creds: HTTPAuthorizationCredentials | None, *, allow_scrape: bool = False
) -> Principal:
    token = creds.credentials.strip() if creds is not None else ""
    if not token:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            return await _session(request, state, session_id)
        raise _unauthorized(request, "missing")
    if allow_scrape and state.tokens.is_scrape_token(token):
        return Principal(name="scrape", role=Role.VIEWER)
    await fresh_tokens(state)
    principal = state.tokens.cached(token, refresh=False)  # verified before: no hash, no budget, no wait
    if principal is not None:
        return principal
    if not state.tokens.well_formed(token):  # not edge_<kid>_<secret>: nothing to hash
        raise _unauthorized(request, "malformed")
    return await _check(request, state, token)


def require(role: Role, *, allow_scrape: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's principal, or 401/403/429/503."""

    async def dependency(
        request: Request,
        state: AppState = Depends(get_state),  # noqa: B008
        creds: HTTPAuthorizationCredentials | None = Depends(BEARER),  # noqa: B008
    ) -> Principal:
        principal = await authenticate(request, state, creds, allow_scrape=allow_scrape)
        if principal.role < role:
            log.info("api: %s (%s) denied %s %s", principal.name, principal.role.label, request.method, request.url)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"需要 {role.label} 或更高权限 / requires role {role.label} or higher",
            )
        return principal

    return dependency


viewer = require(Role.VIEWER)
guard = require(Role.GUARD)
operator = require(Role.OPERATOR)
technician = require(Role.TECHNICIAN)
