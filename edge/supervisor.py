"""Keep each driver running: restart a failed one with full-jitter back-off, isolate failures.

Back-off is `uniform(0, base ** min(cap, n))` (DESIGN.md section 8). Too many restarts within a
window mark the unit faulted so the operator is told, but it keeps being retried: a gateway that
stops trying needs a person on site.

A failure's traceback is logged at ERROR the first time in each fault window, so the cause of a
crash is in the journal at the default log level without a crash loop filling it; the repeats
within the window are one WARNING line each.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0
BACKOFF_CAP = 6  # 2**6 = 64 s: the longest a dead unit waits between attempts
FAULT_WINDOW_S = 300.0  # restarts counted over 5 minutes ...
FAULT_RESTARTS = 5  # ... more than this many marks the unit faulted
STABLE_AFTER_S = 60.0  # a run this long resets the back-off exponent

OnFault = Callable[[str, bool, str], Awaitable[None]]


@dataclass
class UnitHealth:
    name: str
    restarts: int = 0
    last_error: str = ""
    faulted: bool = False
    recent: list[float] = field(default_factory=list)
    traced_at: float | None = None  # monotonic time of the last traceback logged for this unit

    def as_dict(self) -> dict[str, object]:
        return {"restarts": self.restarts, "last_error": self.last_error, "faulted": self.faulted}


class Supervisor:
    def __init__(
        self,
        on_fault: OnFault | None = None,
        *,
        base: float = BACKOFF_BASE,
        cap: int = BACKOFF_CAP,
        rng: random.Random | None = None,
    ) -> None:
        self.units: dict[str, UnitHealth] = {}
        self.on_fault = on_fault
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, self.base ** min(self.cap, attempt))

    async def run(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run `factory()` forever; only cancellation ends this."""
        health = self.units.setdefault(name, UnitHealth(name))
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                await factory()
                error = "returned unexpectedly"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - isolation is the point: one unit never takes down others
                error = f"{type(exc).__name__}: {exc}"
                self._log_failure(health, error, exc)
            now = time.monotonic()
            attempt = 1 if now - started >= STABLE_AFTER_S else attempt + 1
            health.restarts += 1
            health.last_error = error
            health.recent = [t for t in health.recent if now - t < FAULT_WINDOW_S] + [now]
            await self._update_fault(health, len(health.recent) > FAULT_RESTARTS)
            pause = self.delay(attempt)
            log.info("unit %s restarting in %.1f s (attempt %d)", name, pause, attempt)
            await asyncio.sleep(pause)
            if health.faulted and time.monotonic() - started > FAULT_WINDOW_S:
                await self._update_fault(health, False)

    @staticmethod
    def _log_failure(health: UnitHealth, error: str, exc: Exception) -> None:
        now = time.monotonic()
        if health.traced_at is None or now - health.traced_at >= FAULT_WINDOW_S:
            health.traced_at = now
            log.error("unit %s failed: %s", health.name, error, exc_info=exc)
        else:
            log.warning("unit %s failed again: %s", health.name, error)

    async def _update_fault(self, health: UnitHealth, faulted: bool) -> None:
        if faulted == health.faulted:
            return
        health.faulted = faulted
        if faulted:
            log.error(
                "unit %s faulted: %d restarts in %.0f s; last error: %s",
                health.name,
                len(health.recent),
                FAULT_WINDOW_S,
                health.last_error,
            )
        if self.on_fault is not None:
            await self.on_fault(health.name, faulted, health.last_error)

    def status(self) -> dict[str, object]:
        return {name: h.as_dict() for name, h in self.units.items()}
