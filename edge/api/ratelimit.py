"""Per-address limit on failed authentication attempts."""

from __future__ import annotations

import threading
import time
from collections import deque

# 20 failures per address per minute: far above a person mistyping a token, far below a brute-force
# rate (and each token has 256 random bits anyway); the block lifts as old failures age out.
FAIL_LIMIT = 20
FAIL_WINDOW_S = 60.0
# Addresses remembered at most; a scan from many addresses cannot grow memory without bound.
MAX_TRACKED = 4096


class FailureLimiter:
    def __init__(self, limit: int = FAIL_LIMIT, window_s: float = FAIL_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, addr: str, now: float) -> deque[float]:
        q = self._fails.setdefault(addr, deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked_for(self, addr: str) -> float:
        """Seconds until `addr` may try again; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            if addr not in self._fails:
                return 0.0
            q = self._recent(addr, now)
            if len(q) < self.limit:
                return 0.0
            return max(0.1, self.window_s - (now - q[0]))

    def fail(self, addr: str) -> None:
        now = time.monotonic()
        with self._lock:
            if addr not in self._fails and len(self._fails) >= MAX_TRACKED:
                self._fails = {a: q for a, q in self._fails.items() if q and now - q[-1] <= self.window_s}
                if len(self._fails) >= MAX_TRACKED:
                    self._fails.pop(next(iter(self._fails)))
            self._recent(addr, now).append(now)
