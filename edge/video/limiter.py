"""A bound on concurrent frame decodes, shared by every camera in the process.

OpenCV decoding is blocking and CPU-heavy: it runs in worker threads, never on the event loop, and
at most `limit` run at once so 100+ cameras cannot exhaust a small gateway. The bound is a thread
semaphore taken inside the worker, so it also holds when a caller brings its own executor; it is
not tied to any event loop, so one module-level limiter serves every loop (and every test).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from prometheus_client import Gauge, Histogram

from edge.video import heap

logger = logging.getLogger(__name__)

T = TypeVar("T")

# checks.max_concurrent_decodes default: a 2-4 core gateway keeps a core for the rest of the daemon.
DEFAULT_LIMIT: Final = 4

# The camera a decode job is for, set by the caller's task; shown with the jobs that run now.
DECODE_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("DECODE_LABEL", default="")

DECODES_IN_FLIGHT = Gauge("edge_video_decodes_in_flight", "Frame decodes running now")
DECODE_SECONDS = Histogram(
    "edge_video_decode_seconds",
    "Time a decode job held its slot (stream open + reads, or one JPEG decode)",
    buckets=(0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


class DecodeLimiter:
    """Runs blocking decode jobs off the loop, at most `limit` at a time."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._limit = 0
        self._slots = threading.BoundedSemaphore(1)
        self._in_flight = 0
        self.peak = 0
        self._ids = itertools.count()
        # Jobs holding a slot now: id -> (label, monotonic start, budget). A job stuck in native code
        # stays here, so whoever watches (the camera worker's heartbeat) can see it and act.
        self._running: dict[int, tuple[str, float, float]] = {}
        self.configure(limit)

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def configure(self, limit: int) -> None:
        """Set the bound (checks.max_concurrent_decodes). Jobs already running keep their old slot."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        with self._lock:
            if limit == self._limit:
                return
            old = self._executor
            self._limit = limit
            self._slots = threading.BoundedSemaphore(limit)
            self._executor = concurrent.futures.ThreadPoolExecutor(limit, thread_name_prefix="edge-decode")
        if old is not None:
            old.shutdown(wait=False)

    def reset_peak(self) -> None:
        with self._lock:
            self.peak = self._in_flight

    def running(self) -> list[tuple[str, float, float]]:
        """(label, seconds in its slot, budget) of every job holding a slot now."""
        now = time.monotonic()
        with self._lock:
            return [(label, now - t0, budget) for label, t0, budget in self._running.values()]

    def _slotted(self, fn: Callable[[], T], label: str = "", budget: float = 0.0) -> T:
        slots = self._slots
        with slots:
            job_id = next(self._ids)
            with self._lock:
                self._in_flight += 1
                self.peak = max(self.peak, self._in_flight)
                self._running[job_id] = (label, time.monotonic(), budget)
            DECODES_IN_FLIGHT.inc()
            try:
                with DECODE_SECONDS.time():
                    return fn()
            finally:
                DECODES_IN_FLIGHT.dec()
                with self._lock:
                    self._in_flight -= 1
                    self._running.pop(job_id, None)
                    idle = self._in_flight == 0
                if idle:
                    heap.trim()  # the sweep's frames are freed: hand their pages back

    async def run(
        self,
        fn: Callable[[], T],
        executor: concurrent.futures.Executor | None = None,
        budget: float | None = None,
    ) -> T:
        """Run fn in a worker thread under the bound and await its result.

        `budget` (seconds) counts from the moment the job gets its slot, not while it queues behind other
        cameras' decodes; on expiry TimeoutError is raised (the thread finishes on its own, bounded
        by the I/O timeouts the job sets, and keeps its slot until then).
        """
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def job() -> T:
            try:
                loop.call_soon_threadsafe(started.set)
            except RuntimeError:  # the loop closed while we queued: nobody awaits the result
                logger.debug("decode job started after its loop closed")
            return fn()

        fut = loop.run_in_executor(executor or self._executor, self._slotted, job, DECODE_LABEL.get(), budget or 0.0)
        if budget is None:
            return await fut
        waiter = asyncio.ensure_future(started.wait())
        try:
            both: set[asyncio.Future[Any]] = {fut, waiter}
            await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        async with asyncio.timeout(budget):
            return await fut


# The process-wide limiter; the daemon calls DECODES.configure(config.checks.max_concurrent_decodes).
DECODES = DecodeLimiter()
