"""Who may read the county platform: the gateway's credential checks (edge.api.login) over the
county's own parts — API tokens from `api.tokens_file`, people and sessions in PostgreSQL.

A session cookie is looked up in the database on every request (one primary-key read), so a login
made on one instance works on all of them, and a logout or `edge county user disable` on any instance
ends it everywhere.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

from edge.api.login import LOGIN_FAIL_LIMIT, authenticate
from edge.api.ratelimit import FailureLimiter
from edge.api.sessions import COOKIE, SessionStore, id_hash
from edge.api.tokens import Principal, TokenStore
from edge.api.verifier import Verifier
from edge.county.users import People, PgAccounts
from edge.events import now_ms


@dataclass
class CountyCredentials:
    """edge.api.login.Credentials for the county service."""

    tokens: TokenStore
    people: People
    sessions: SessionStore
    users: PgAccounts = field(init=False)
    verifier: Verifier = field(init=False)
    auth_limiter: FailureLimiter = field(default_factory=FailureLimiter)
    login_limiter: FailureLimiter = field(default_factory=lambda: FailureLimiter(limit=LOGIN_FAIL_LIMIT))

    def __post_init__(self) -> None:
        self.users = PgAccounts(self.people)
        self.verifier = Verifier(self.tokens)

    def close(self) -> None:
        self.verifier.close()
        self.people.close()

    def _sync(self, session_id: str) -> None:
        """This instance's copy of one session made to agree with the database (blocking)."""
        h = id_hash(session_id)
        row = self.people.get_session(h)
        if row is None:
            self.sessions.drop(h)
        elif not self.sessions.alive(h):
            self.sessions.load([row])

    async def principal(
        self, request: Request, creds: HTTPAuthorizationCredentials | None, *, allow_scrape: bool = False
    ) -> Principal:
        session_id = request.cookies.get(COOKIE)
        if session_id and (creds is None or not creds.credentials.strip()):
            await asyncio.to_thread(self._sync, session_id)
        return await authenticate(request, self, creds, allow_scrape=allow_scrape)

    async def flush(self) -> None:
        """Last-use times to the database; sessions idle too long there removed (the service calls this)."""
        dirty = self.sessions.take_dirty()
        await asyncio.to_thread(self.people.touch_sessions, dirty)
        await asyncio.to_thread(self.people.expire_sessions, now_ms(), self.sessions.idle_ms, self.sessions.kiosk_ms)
