"""Bearer-token auth with roles, and a per-address limit on failed attempts.

401 for a missing or unknown token, 403 for a role too low, 429 once an address has failed too
often. Failures are counted and logged (rate-limited) with the address and reason, never the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from edge.api.deps import get_state
from edge.api.state import AppState
from edge.api.tokens import Principal, Role
from edge.metrics import bad_input

log = logging.getLogger(__name__)

AUTH_FAILURES = Counter("edge_api_auth_failures_total", "Rejected API credentials", ["reason"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Declares the scheme in OpenAPI (the "Authorize" button in /docs); we answer 401 ourselves.
BEARER = HTTPBearer(auto_error=False, description="a token from `edge token create`")


def _reject(state: AppState, request: Request, reason: str) -> HTTPException:
    addr = _client(request)
    state.auth_limiter.fail(addr)
    AUTH_FAILURES.labels(reason=reason).inc()
    bad_input(log, "api-auth", reason, f"from {addr} {request.method} {request.url.path}")
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="需要有效的访问令牌 / a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def authenticate(
    request: Request, state: AppState, creds: HTTPAuthorizationCredentials | None, *, allow_scrape: bool = False
) -> Principal:
    addr = _client(request)
    wait = state.auth_limiter.blocked_for(addr)
    if wait:
        AUTH_FAILURES.labels(reason="rate_limited").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="认证失败次数过多，请稍后再试 / too many failed attempts, try later",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    token = creds.credentials.strip() if creds is not None else ""
    if not token:
        raise _reject(state, request, "missing")
    if allow_scrape and state.tokens.is_scrape_token(token):
        return Principal(name="scrape", role=Role.VIEWER)
    principal = state.tokens.verify(token)
    if principal is None:
        raise _reject(state, request, "invalid")
    return principal


def require(role: Role, *, allow_scrape: bool = False) -> Callable[..., Principal]:
    """A dependency: the caller's principal, or 401/403/429."""

    def dependency(
        request: Request,
        state: AppState = Depends(get_state),  # noqa: B008
        creds: HTTPAuthorizationCredentials | None = Depends(BEARER),  # noqa: B008
    ) -> Principal:
        principal = authenticate(request, state, creds, allow_scrape=allow_scrape)
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
