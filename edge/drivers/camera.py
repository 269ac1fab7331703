"""The ONVIF camera family: health, image quality and retention checks for every camera, on schedule.

Each camera has its own three loops (health every camera_interval, quality every quality_interval,
retention daily at retention_time in the site's time zone, each also once shortly after start), so
one slow or hung camera only ever delays itself. A semaphore per check kind bounds how many checks of
that kind run at once, and the video package's process-wide DECODES limiter bounds frame decodes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from prometheus_client import Counter, Histogram

from edge.config import Camera, Checks, SecretError
from edge.drivers.base import Driver, DriverContext
from edge.drivers.registry import register
from edge.events import EventKind, now_ms
from edge.onvif.camera import CameraChecker, build_recorder, check_camera_now
from edge.onvif.recordings import Span, recorded_spans
from edge.onvif.session import OnvifSession
from edge.redact import redact_data
from edge.video.limiter import DECODE_LABEL, DECODES

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

__all__ = ["CameraDriver", "check_camera_now", "next_daily"]

CHECK_RUNS = Counter("edge_camera_checks_total", "Camera checks run", ["check", "outcome"])
CHECK_SECONDS = Histogram(
    "edge_camera_check_seconds", "Duration of one camera check", ["check"], buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60)
)
# Safety net over the per-call timeouts: a health round makes at most 8 calls.
HEALTH_CALLS = 8


def next_daily(now: datetime, hhmm: str) -> datetime:
    """The next `hhmm` (site time zone of `now`) strictly after `now`."""
    hour, minute = map(int, hhmm.split(":"))
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else (at + timedelta(days=1)).replace(hour=hour, minute=minute)


@register
class CameraDriver(Driver):
    type: ClassVar[str] = "onvif_cameras"

    def __init__(self, name: str, ctx: DriverContext, cameras: list[Camera], checks: Checks, timezone: str) -> None:
        super().__init__(name, ctx)
        self.cameras = cameras
        self.checks = checks
        self.tz = ZoneInfo(timezone)
        self.checkers: dict[str, CameraChecker] = {}
        self.results: dict[str, dict[str, Any]] = {}  # camera id -> {"quality": ..., "retention": ...}
        # One bound per check kind: a quality sweep waiting on slow streams must not hold up health rounds.
        self._sems = {k: asyncio.Semaphore(checks.max_concurrent_checks) for k in ("health", "quality", "retention")}
        self._first_health: dict[str, asyncio.Event] = {}

    @classmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        if not config.cameras:
            return []
        return [cls("cameras", ctx, list(config.cameras), config.checks, config.site.timezone)]

    def _build(self) -> None:
        recorders: dict[tuple[str, str], OnvifSession] = {}
        for cam in self.cameras:
            try:
                rec = None
                if cam.recorder is not None:
                    key = (cam.recorder.onvif, cam.recorder.username)
                    rec = recorders.get(key) or build_recorder(cam, self.checks)
                    if rec is not None:
                        recorders[key] = rec
                checker = CameraChecker.build(cam, self.checks, rec)
            except SecretError as exc:
                # One camera's unreadable password file must not stop the others; it shows as auth_failed.
                log.error("camera %s: %s", cam.id, exc)
                session = OnvifSession(cam.onvif, cam.username, None, f"onvif:{cam.id}", self.checks.call_timeout)
                checker = CameraChecker(cam, self.checks, session)
            self.checkers[cam.id] = checker
            self._first_health[cam.id] = asyncio.Event()

    async def run(self) -> None:
        DECODES.configure(self.checks.max_concurrent_decodes)  # process-wide bound on OpenCV decodes
        self._build()
        c = self.checks
        try:
            async with asyncio.TaskGroup() as tg:
                for cid, ch in self.checkers.items():
                    ready = self._first_health[cid]
                    tg.create_task(
                        self._every(ch, "health", c.camera_interval, None, self._health), name=f"health:{cid}"
                    )
                    tg.create_task(
                        self._every(ch, "quality", c.quality_interval, ready, self._quality), name=f"quality:{cid}"
                    )
                    tg.create_task(self._retention_loop(ch, ready), name=f"retention:{cid}")
        finally:
            for ch in self.checkers.values():
                await ch.close()
                if ch.recorder is not None:
                    await ch.recorder.close()

    async def _start(self, after: asyncio.Event | None) -> None:
        """The start-up run: after startup_delay and, for quality and retention, the first health round
        (it finds the media URIs and services). Waiting here holds no concurrency slot."""
        await asyncio.sleep(self.checks.startup_delay)
        if after is not None:
            await after.wait()

    async def _every(
        self,
        ch: CameraChecker,
        check: str,
        interval: float,
        after: asyncio.Event | None,
        fn: Callable[[CameraChecker], Awaitable[None]],
    ) -> None:
        loop = asyncio.get_running_loop()
        await self._start(after)
        due = loop.time()
        while True:
            await self._guarded(ch, check, fn)
            due += interval
            while due <= loop.time():  # an overrun skips the missed slots instead of bunching them
                due += interval
            await asyncio.sleep(due - loop.time())

    async def _retention_loop(self, ch: CameraChecker, after: asyncio.Event) -> None:
        await self._start(after)
        while True:
            await self._guarded(ch, "retention", self._retention)
            now = datetime.now(self.tz)
            await asyncio.sleep((next_daily(now, self.checks.retention_time) - now).total_seconds())

    def _deadline(self, check: str) -> float:
        c = self.checks
        if check == "quality":
            return 3 * c.frame_timeout + 2 * c.call_timeout + 10
        return HEALTH_CALLS * c.call_timeout + 5

    async def _guarded(self, ch: CameraChecker, check: str, fn: Callable[[CameraChecker], Awaitable[None]]) -> None:
        """Run one check for one camera; its failure is logged and counted, never spread to others."""
        async with self._sems[check]:
            DECODE_LABEL.set(ch.cam.id)  # this task's decodes show under the camera in the worker's heartbeat
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._deadline(check)):
                    await fn(ch)
                CHECK_RUNS.labels(check=check, outcome="done").inc()
            except TimeoutError:
                CHECK_RUNS.labels(check=check, outcome="deadline").inc()
                log.warning("camera %s: %s check exceeded its deadline", ch.cam.id, check)
            except Exception:
                CHECK_RUNS.labels(check=check, outcome="error").inc()
                log.exception("camera %s: %s check failed", ch.cam.id, check)
            finally:
                CHECK_SECONDS.labels(check=check).observe(time.monotonic() - started)

    async def _health(self, ch: CameraChecker) -> None:
        _, events = await ch.health()
        for ev in events:
            await self.ctx.emit(ev)
        if ch.tracker.reported is not None:
            # Quality and retention wait for the camera's state to be told first: their results
            # (even "unknown") would otherwise show a camera never yet checked as seen.
            self._first_health[ch.cam.id].set()

    async def picture(self, device_id: str, timeout: float) -> bytes:  # noqa: ASYNC109 - per grab operation
        """A JPEG of the camera now, for the core's snapshot request; LookupError for an unknown camera."""
        ch = self.checkers.get(device_id)
        if ch is None:
            raise LookupError(device_id)
        DECODE_LABEL.set(device_id)
        return await ch.picture(timeout)

    async def recordings(self, device_id: str, start: float, end: float) -> tuple[str, list[Span]]:
        """(recorder URL, spans) of what the camera's recorder holds in [start, end]; the NVR of its
        `recorder` section, else the camera itself. LookupError for an unknown camera."""
        ch = self.checkers.get(device_id)
        if ch is None:
            raise LookupError(device_id)
        rec = ch.cam.recorder
        session = ch.recorder if rec is not None and ch.recorder is not None else ch.session
        token = rec.recording_token if rec is not None else None
        return session.url, await recorded_spans(session, token, start, end)

    async def _quality(self, ch: CameraChecker) -> None:
        if ch.tracker.state.value in ("offline", "unreachable", "auth_failed") and not ch.cam.stream_uri:
            return  # no ONVIF answer, so no URI to grab from; the offline/auth events already say why
        out = await ch.quality()
        ts = now_ms()
        if out.jpeg is not None:
            await self.ctx.save_snapshot(ch.cam.id, out.jpeg, ts)
        self.results.setdefault(ch.cam.id, {})["quality"] = out.payload
        await self.ctx.emit(ch.event(EventKind.CAMERA_QUALITY, out.payload))

    async def _retention(self, ch: CameraChecker) -> None:
        res = await ch.retention()
        self.results.setdefault(ch.cam.id, {})["retention"] = res.payload()
        await self.ctx.emit(ch.event(EventKind.CAMERA_RETENTION, res.payload()))

    def diagnostics(self) -> dict[str, Any]:
        cams = {cid: {**ch.tracker.as_dict(), **self.results.get(cid, {}), "onvif": ch.cam.onvif}
                for cid, ch in self.checkers.items()}  # fmt: skip
        # URIs from the camera may carry credentials (rtsp://user:pw@, ?pwd=): one pass over the tree.
        return {"type": self.type, "name": self.name, "cameras": redact_data(cams)}
