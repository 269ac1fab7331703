"""Who is calling: a bearer token or a person's login session, checked the same way by every service
of the package (the gateway's API and the county platform).

401 for a missing or bad credential. A token that verified before is accepted at once, whatever else
its address is doing; only the expensive check of a new token or a password is budgeted per address
(edge.api.ratelimit: delayed, then 429) and per account, and bounded overall (edge.api.verifier: 503
when the hash pool is full). A failed check answers no sooner than `FAIL_FLOOR_S` after the request
arrived, so neither the key id nor the file's cost shows in the response time. Failures are counted
and logged (rate-limited) with the address and reason, never the secret.

Nothing here imports the gateway's runtime: a service hands over its parts as `Credentials`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Protocol

from fastapi import HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter
from pydantic import BaseModel, Field

from edge.api.ratelimit import FailureLimiter
from edge.api.sessions import COOKIE, CSRF_HEADER, SessionStore
from edge.api.tokens import Principal, Role, TokenStore
from edge.api.users import MAX_PASSWORD
from edge.api.verifier import Verifier, VerifierBusy
from edge.events import now_ms
from edge.metrics import bad_input

log = logging.getLogger("edge.api.auth")  # the name operators already filter on

# reason: missing, malformed, invalid (a checked token that did not verify), rate_limited (refused
# before checking), busy (the hash pool was full), delayed (checked, after a wait in the slow lane),
# session_expired, user_disabled, csrf, bad_password.
AUTH_FAILURES = Counter("edge_api_auth_failures_total", "Rejected or delayed API credentials", ["reason"])
# A failed check takes at least this long: longer than one scrypt at the default cost on the gateway
# (~50 ms), so a known key id and an unknown one, or a cheap entry and a dear one, answer alike.
FAIL_FLOOR_S = 0.1
# A person mistypes a password a few times, not twenty: after 5 failures an account's logins are slowed.
LOGIN_FAIL_LIMIT = 5
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BAD_LOGIN = "用户名或密码错误 / wrong user name or password"

# Declares the scheme in OpenAPI (the "Authorize" button in /docs); we answer 401 ourselves.
BEARER = HTTPBearer(auto_error=False, description="a token from `edge token create`")


class Accounts(Protocol):
    """People's accounts: the gateway's users file (edge.api.users) or the county's table."""

    def stale(self) -> bool: ...
    def refresh(self) -> None: ...
    def active(self, name: str) -> Role | None: ...
    def verify(self, name: str, password: str) -> Role | None: ...


class Credentials(Protocol):
    """What checking a caller needs; read-only so any service's own state object fits."""

    @property
    def tokens(self) -> TokenStore: ...
    @property
    def users(self) -> Accounts: ...
    @property
    def sessions(self) -> SessionStore: ...
    @property
    def verifier(self) -> Verifier: ...
    @property
    def auth_limiter(self) -> FailureLimiter: ...  # per address, tokens and passwords alike
    @property
    def login_limiter(self) -> FailureLimiter: ...  # per account name


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


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def unauthorized(request: Request, reason: str) -> HTTPException:
    AUTH_FAILURES.labels(reason=reason).inc()
    bad_input(log, "api-auth", reason, f"from {client_of(request)} {request.method} {request.url.path}")
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="需要登录或有效的访问令牌 / log in or send a valid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _refused(request: Request, code: int, reason: str, retry_after: float) -> HTTPException:
    AUTH_FAILURES.labels(reason=reason).inc()
    bad_input(log, "api-auth", reason, f"from {client_of(request)} {request.method} {request.url.path}")
    detail = (
        "认证失败次数过多，请稍后再试 / too many failed attempts, try later"
        if code == status.HTTP_429_TOO_MANY_REQUESTS
        else "服务繁忙，请稍后再试 / too many logins being checked, try again shortly"
    )
    return HTTPException(code, detail=detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


async def _check_token(request: Request, parts: Credentials, token: str) -> Principal:
    """The expensive path: budgeted per address, off the loop, and slow to fail."""
    started = time.monotonic()
    addr = client_of(request)
    wait = parts.auth_limiter.admit(addr)
    if wait is None:
        raise _refused(request, status.HTTP_429_TOO_MANY_REQUESTS, "rate_limited", parts.auth_limiter.retry_after(addr))
    principal: Principal | None = None
    checked = False  # a refusal or a client gone while waiting is no failed attempt
    try:
        if wait > 0:
            AUTH_FAILURES.labels(reason="delayed").inc()
            await asyncio.sleep(wait)
        principal = await parts.verifier.verify(token)
        checked = True
    except VerifierBusy:
        raise _refused(request, status.HTTP_503_SERVICE_UNAVAILABLE, "busy", 1) from None
    finally:
        parts.auth_limiter.done(addr, failed=checked and principal is None)
    if principal is None:
        await asyncio.sleep(max(0.0, FAIL_FLOOR_S - (time.monotonic() - started)))
        raise unauthorized(request, "invalid")
    return principal


async def fresh_tokens(parts: Credentials) -> None:
    """Re-read a changed tokens file in a thread: parsing YAML on the loop would stall every request."""
    if parts.tokens.stale():
        await asyncio.get_running_loop().run_in_executor(None, parts.tokens.refresh)


async def session_principal(request: Request, parts: Credentials, session_id: str) -> Principal:
    """A person's login: no hash per request, but the account must still be enabled and every write
    must carry the session's CSRF token (SameSite=Strict is the first line, this the second)."""
    if parts.users.stale():
        await asyncio.get_running_loop().run_in_executor(None, parts.users.refresh)
    s = parts.sessions.get(session_id, now_ms())
    if s is None:
        raise unauthorized(request, "session_expired")
    role = parts.users.active(s.username)
    if role is None:  # disabled or removed since the login
        parts.sessions.drop(s.id_hash)
        raise unauthorized(request, "user_disabled")
    if request.method not in SAFE_METHODS and not parts.sessions.csrf_ok(s, request.headers.get(CSRF_HEADER)):
        AUTH_FAILURES.labels(reason="csrf").inc()
        bad_input(log, "api-auth", "csrf", f"from {client_of(request)} {request.method} {request.url.path}")
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="缺少或错误的 CSRF 令牌 / missing or wrong CSRF token")
    return Principal(name=s.username, role=role, session=s.id_hash)


async def authenticate(
    request: Request, parts: Credentials, creds: HTTPAuthorizationCredentials | None, *, allow_scrape: bool = False
) -> Principal:
    token = creds.credentials.strip() if creds is not None else ""
    if not token:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            return await session_principal(request, parts, session_id)
        raise unauthorized(request, "missing")
    if allow_scrape and parts.tokens.is_scrape_token(token):
        return Principal(name="scrape", role=Role.VIEWER)
    await fresh_tokens(parts)
    principal = parts.tokens.cached(token, refresh=False)  # verified before: no hash, no budget, no wait
    if principal is not None:
        return principal
    if not parts.tokens.well_formed(token):  # not edge_<kid>_<secret>: nothing to hash
        raise unauthorized(request, "malformed")
    return await _check_token(request, parts, token)


async def check_password(request: Request, parts: Credentials, body: LoginBody) -> Role:
    """The password check, slowed for an address or an account with recent failures, never refused
    for a right password because somebody else got theirs wrong (the limiters' slow lane)."""
    started = time.monotonic()
    addr = client_of(request)
    account = f"user:{body.username}"
    waits = [parts.auth_limiter.admit(addr), parts.login_limiter.admit(account)]
    if None in waits:
        for limiter, key, w in ((parts.auth_limiter, addr, waits[0]), (parts.login_limiter, account, waits[1])):
            if w is not None:
                limiter.done(key, failed=False)
        AUTH_FAILURES.labels(reason="rate_limited").inc()
        too_many = "登录失败次数过多，请稍后再试 / too many failed logins, try later"
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, too_many, headers={"Retry-After": "5"})
    role = None
    checked = False
    try:
        wait = max(w for w in waits if w is not None)
        if wait > 0:
            AUTH_FAILURES.labels(reason="delayed").inc()
            await asyncio.sleep(wait)
        role = await parts.verifier.run(parts.users.verify, body.username, body.password)
        checked = True
    except VerifierBusy:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "服务繁忙 / busy, try again", headers={"Retry-After": "1"}
        ) from None
    finally:
        parts.auth_limiter.done(addr, failed=checked and role is None)
        parts.login_limiter.done(account, failed=checked and role is None)
    if role is None:
        await asyncio.sleep(max(0.0, FAIL_FLOOR_S - (time.monotonic() - started)))
        AUTH_FAILURES.labels(reason="bad_password").inc()
        bad_input(log, "api-login", "bad_password", f"from {addr} for {body.username[:64]!r}")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_LOGIN)
    return role


def set_cookie(response: Response, request: Request, value: str, max_age: int | None) -> None:
    response.set_cookie(
        COOKIE, value, max_age=max_age, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
