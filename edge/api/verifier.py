"""The expensive token check, off the event loop, on a few threads of its own.

scrypt holds a thread (and a core) for ~50 ms. Run in the server's shared thread pool, 64 bad
requests took every thread and `/healthz` waited 1.9 s behind them. Here the hashes get their own
small pool, and the number waiting for it is bounded: past `MAX_PENDING` a request is refused at
once (503) instead of queueing work the gateway cannot finish in time.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

from edge.api.tokens import Principal, TokenStore

T = TypeVar("T")

# One hash thread per core but one: on the 2-core gateway the alarm path always has a core.
WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))
# Waiting checks at most: ~32 x 50 ms = 1.6 s of work queued; a client waits no longer than that.
MAX_PENDING = 32

CHECKS = Counter("edge_api_auth_checks_total", "Expensive token checks run (scrypt), by outcome", ["outcome"])
CHECK_SECONDS = Histogram(
    "edge_api_auth_check_seconds",
    "Time a token check took, queueing included",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class VerifierBusy(Exception):
    """Too many checks are waiting already."""


class Verifier:
    def __init__(self, tokens: TokenStore, workers: int = WORKERS, max_pending: int = MAX_PENDING) -> None:
        self.tokens = tokens
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api-auth")
        self._pending = 0
        self._lock = threading.Lock()

    async def verify(self, token: str) -> Principal | None:
        principal = await self.run(self.tokens.verify, token)
        CHECKS.labels(outcome="ok" if principal is not None else "failed").inc()
        return principal

    async def run(self, check: Callable[..., T], *args: Any) -> T:
        """Any expensive credential check (a token, a login's password) on the same bounded pool."""
        with self._lock:
            if self._pending >= self.max_pending:
                CHECKS.labels(outcome="busy").inc()
                raise VerifierBusy
            self._pending += 1
        started = time.monotonic()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, check, *args)
        finally:
            with self._lock:
                self._pending -= 1
            CHECK_SECONDS.observe(time.monotonic() - started)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
