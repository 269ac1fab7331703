"""Role dependencies for the gateway's routes: the caller's principal (edge.api.login: a bearer token
or a login session), then 403 for a role too low.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from edge.api.deps import get_state
from edge.api.login import AUTH_FAILURES, BEARER, FAIL_FLOOR_S, authenticate, fresh_tokens, log
from edge.api.state import AppState
from edge.api.tokens import Principal, Role

__all__ = ["AUTH_FAILURES", "BEARER", "FAIL_FLOOR_S", "authenticate", "fresh_tokens", "log", "require"]


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
