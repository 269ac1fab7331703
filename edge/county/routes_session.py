"""The county's login routes: POST/DELETE /api/v1/session and GET /api/v1/me, as the gateway's
(edge.api.login), with the sessions kept in PostgreSQL (edge.county.users)."""

# No `from __future__ import annotations`: FastAPI must see the route parameter types themselves.

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response, status

from edge.api.login import BAD_LOGIN, LoginBody, LoginOut, check_password, clear_cookie, client_of, set_cookie
from edge.api.tokens import Principal
from edge.county.auth import CountyCredentials
from edge.events import now_ms

log = logging.getLogger(__name__)


def add_session_routes(app: FastAPI, parts: CountyCredentials, viewer: Callable[..., Awaitable[Principal]]) -> None:
    Viewer = Annotated[Principal, Depends(viewer)]

    @app.post(
        "/api/v1/session",
        response_model=LoginOut,
        responses={401: {"description": BAD_LOGIN}, 429: {"description": "too many failures"}, 503: {}},
    )
    async def login(request: Request, response: Response, body: LoginBody) -> LoginOut:
        """A person logs in (`edge county user add`): an HttpOnly, SameSite=Strict cookie and a CSRF token."""
        role = await check_password(request, parts, body)
        sid, session = parts.sessions.create(body.username, body.kiosk, now_ms(), client_of(request))
        try:
            await asyncio.to_thread(parts.people.put_session, session.as_row())
        except Exception:
            parts.sessions.drop(session.id_hash)
            raise
        lifetime = parts.sessions.lifetime_ms(session) // 1000
        set_cookie(response, request, sid, lifetime if body.kiosk else None)
        log.info("county: %s logged in from %s", body.username, client_of(request))
        return LoginOut(
            name=body.username, role=role.label, csrf=session.csrf, kiosk=body.kiosk, idle_timeout_s=lifetime
        )

    @app.delete("/api/v1/session", status_code=status.HTTP_204_NO_CONTENT)
    async def logout(request: Request, who: Viewer) -> Response:
        """End this login everywhere (a token caller has none: nothing to end). Needs X-CSRF-Token."""
        if who.session is not None:
            parts.sessions.drop(who.session)
            await asyncio.to_thread(parts.people.delete_session, who.session)
            log.info("county: %s logged out", who.name)
        out = Response(status_code=status.HTTP_204_NO_CONTENT)
        clear_cookie(out, request)
        return out

    @app.get("/api/v1/me")
    def me(who: Viewer) -> dict[str, Any]:
        """The caller; a login session also gets its CSRF token back, so a reloaded page can log out."""
        if who.session is None:
            return {"name": who.name, "role": who.role.label, "via": "token", "csrf": None}
        return {"name": who.name, "role": who.role.label, "via": "session", "csrf": parts.sessions.csrf_of(who.session)}
