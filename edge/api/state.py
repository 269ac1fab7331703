"""What the API reads from the running daemon, handed to the app at creation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from edge.api.collector import store_registry
from edge.api.login import LOGIN_FAIL_LIMIT
from edge.api.ratelimit import FailureLimiter
from edge.api.sessions import SessionStore
from edge.api.tokens import TokenStore
from edge.api.users import UserStore
from edge.api.verifier import Verifier
from edge.config import Config, read_secret
from edge.hub import Hub
from edge.runtime import Runtime
from edge.store import Database


@dataclass
class AppState:
    config: Config
    db: Database
    hub: Hub
    # Extra status sections contributed by running parts. "police" (the relay's `Relay.status()`)
    # is shown as the police link; any other name appears under `providers` in GET /status.
    status_providers: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    started_monotonic: float = field(default_factory=time.monotonic)
    # Built from config.api when not given; tests and the daemon may pass their own.
    tokens: TokenStore = field(default=None)  # type: ignore[assignment]
    auth_limiter: FailureLimiter = field(default=None)  # type: ignore[assignment]
    verifier: Verifier = field(default=None)  # type: ignore[assignment]
    users: UserStore = field(default=None)  # type: ignore[assignment]
    sessions: SessionStore = field(default=None)  # type: ignore[assignment]
    # Failed logins per account name (per address they share auth_limiter with the tokens).
    login_limiter: FailureLimiter = field(default=None)  # type: ignore[assignment]
    # The daemon's running rule engine: maintenance on/off through it takes effect at once.
    runtime: Runtime | None = None
    metrics_registry: CollectorRegistry = field(init=False, repr=False)
    # Set by the daemon when it stops: live streams end within a poll interval instead of holding shutdown.
    closing: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.tokens is None:
            self.tokens = TokenStore(self.config.api.tokens_file, read_secret(self.config.api.scrape_token_file))
        if self.auth_limiter is None:
            self.auth_limiter = FailureLimiter()
        if self.verifier is None:
            self.verifier = Verifier(self.tokens)
        if self.users is None:
            self.users = UserStore(self.config.api.users_path)
        if self.sessions is None:
            api = self.config.api
            self.sessions = SessionStore(api.session_idle_minutes * 60_000, api.kiosk_days * 86_400_000)
        if self.login_limiter is None:
            self.login_limiter = FailureLimiter(limit=LOGIN_FAIL_LIMIT)
        self.metrics_registry = store_registry(self.db, lambda: self.uptime_s)

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic
