"""Per-address budget for the expensive token check.

Only requests whose token has not verified before reach here (a verified token is served from the
token cache and is never delayed). Within the budget a check runs at once. An address over budget
(failures in the window plus checks in flight) is moved to a slow lane: one check per
`SLOW_INTERVAL_S`, queued at most `SLOW_QUEUE` deep, refused (429) beyond that. So a flood of bad
tokens from one address costs the gateway one hash a second, and a good token from the same address
(a new screen behind the same NAT as a mistyping one) still gets through, late but not locked out.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

# 20 failures per address per minute: far above a person mistyping a token, far below a brute-force
# rate (and each token has 256 random bits anyway); old failures age out of the window.
FAIL_LIMIT = 20
FAIL_WINDOW_S = 60.0
# Over budget: one check a second per address (the cost of one scrypt on a small gateway is ~50 ms),
# and at most 5 waiting, so a good token waits at most ~5 s behind an attacker at the same address.
SLOW_INTERVAL_S = 1.0
SLOW_QUEUE = 5
# Addresses remembered at most; a scan from many addresses cannot grow memory without bound.
MAX_TRACKED = 4096


@dataclass
class _Source:
    fails: deque[float] = field(default_factory=deque)
    inflight: int = 0
    next_slot: float = 0.0  # slow lane: when the next check may start
    last: float = 0.0


class FailureLimiter:
    def __init__(
        self,
        limit: int = FAIL_LIMIT,
        window_s: float = FAIL_WINDOW_S,
        slow_interval_s: float = SLOW_INTERVAL_S,
        slow_queue: int = SLOW_QUEUE,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.slow_interval_s = slow_interval_s
        self.slow_queue = slow_queue
        self._sources: dict[str, _Source] = {}
        self._lock = threading.Lock()

    def _source(self, addr: str, now: float) -> _Source:
        src = self._sources.get(addr)
        if src is None:
            if len(self._sources) >= MAX_TRACKED:
                self._prune(now)
            src = self._sources[addr] = _Source()
        while src.fails and now - src.fails[0] > self.window_s:
            src.fails.popleft()
        src.last = now
        return src

    def _prune(self, now: float) -> None:
        self._sources = {
            a: s for a, s in self._sources.items() if s.inflight or (s.fails and now - s.fails[-1] <= self.window_s)
        }
        while len(self._sources) >= MAX_TRACKED:  # all busy: forget the one heard from longest ago
            self._sources.pop(min(self._sources, key=lambda a: self._sources[a].last))

    def admit(self, addr: str) -> float | None:
        """Seconds to wait before this address's check may run (0: now), or None: refuse it (429).

        Every admitted check must be followed by `done(addr, failed=...)`."""
        now = time.monotonic()
        with self._lock:
            src = self._source(addr, now)
            if len(src.fails) + src.inflight < self.limit:
                src.inflight += 1
                return 0.0
            start = max(now, src.next_slot)
            if start - now > self.slow_interval_s * self.slow_queue:
                return None
            src.next_slot = start + self.slow_interval_s
            src.inflight += 1
            return start - now

    def done(self, addr: str, *, failed: bool) -> None:
        now = time.monotonic()
        with self._lock:
            src = self._source(addr, now)
            src.inflight = max(0, src.inflight - 1)
            if failed:
                src.fails.append(now)

    def retry_after(self, addr: str) -> float:
        """For a refused address: seconds until its slow lane has room again."""
        now = time.monotonic()
        with self._lock:
            src = self._sources.get(addr)
            if src is None:
                return 0.0
            return max(self.slow_interval_s, src.next_slot - now - self.slow_interval_s * self.slow_queue)

    def failures(self, addr: str) -> int:
        with self._lock:
            return len(self._source(addr, time.monotonic()).fails)
