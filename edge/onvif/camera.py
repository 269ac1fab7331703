"""Everything checked about one camera: ONVIF health, image quality, retention; results and events.

The driver schedules these; `edge commission camera` runs them once through `check_camera_now`.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from edge.config import Camera, Checks, read_secret
from edge.events import Event, EventKind, now_ms
from edge.onvif.health import Health, HealthResult, check_health
from edge.onvif.retention import RetentionResult, check_retention
from edge.onvif.session import OnvifSession
from edge.onvif.state import CameraTracker
from edge.video.check import check_quality
from edge.video.errors import GrabError
from edge.video.grab import grab_then
from edge.video.quality import thumbnail

log = logging.getLogger(__name__)

# Services, profiles and media URIs rarely change: they are asked every this many health rounds (and
# in every round after one that was not clean); the rounds between only read the clock and the device
# info with our credentials. At 60 s rounds: reachability, auth and clock every minute, media every
# 10 minutes, and 2.4 instead of 6 SOAP calls per camera-minute (about 0.8 % of a core for 128).
FULL_ROUND_EVERY = 10
# Two frames this far apart: long enough for live sensor noise and motion to differ, short enough
# that a quality sweep of 128 cameras with 4 decoders stays within minutes.
FROZEN_GAP_S = 2.0
FRAMES = 2
# An alarm picture: large enough to recognise a person at a gate, small enough to send at once.
PICTURE_WIDTH = 1280


@dataclass(slots=True)
class QualityOutcome:
    payload: dict[str, Any]  # the camera.quality event payload
    jpeg: bytes | None = None
    source: str = ""  # "stream" or "snapshot"


def required_days(cam: Camera, checks: Checks) -> int:
    if cam.retention_days is not None:
        return cam.retention_days
    return checks.key_area_retention_days if cam.key_area else checks.retention_days


@dataclass(slots=True)
class CameraChecker:
    """One camera's clients and tracked state. `recorder` is shared by cameras on the same NVR."""

    cam: Camera
    checks: Checks
    session: OnvifSession
    recorder: OnvifSession | None = None
    executor: Executor | None = None
    tracker: CameraTracker = field(init=False)
    _password: str | None = None
    _uris: tuple[str | None, str | None] = (None, None)  # last known (stream, snapshot) URIs
    _rounds: int = 0

    def __post_init__(self) -> None:
        self.tracker = CameraTracker(self.cam.id, self.checks.offline_after_rounds)

    @classmethod
    def build(cls, cam: Camera, checks: Checks, recorder: OnvifSession | None = None, **kw: Any) -> CameraChecker:
        password = read_secret(cam.password_file)
        session = OnvifSession(cam.onvif, cam.username, password, f"onvif:{cam.id}", checks.call_timeout)
        return cls(cam, checks, session, recorder, _password=password, **kw)

    async def health(self) -> tuple[HealthResult, list[Event]]:
        last = self.tracker.last
        full = self._rounds % FULL_ROUND_EVERY == 0 or last is None or last.state is not Health.ONLINE
        self._rounds = 0 if full else self._rounds
        self._rounds += 1
        res = await check_health(self.session, self.checks.max_clock_drift, self.cam.profile, full=full)
        if not full and last is not None:  # carry the media facts of the last full round
            res.profile, res.stream_uri, res.snapshot_uri = last.profile, last.stream_uri, last.snapshot_uri
            res.has_search = last.has_search
        # A round where GetStreamUri failed keeps the last URI that worked: the video may still be fine.
        self._uris = (res.stream_uri or self._uris[0], res.snapshot_uri or self._uris[1])
        return res, self.tracker.update(res, time.time())

    @property
    def stream_uri(self) -> str | None:
        """The configured stream URI, else the last one GetStreamUri reported."""
        return self._media_uris()[0]

    def _media_uris(self) -> tuple[str | None, str | None]:
        return self.cam.stream_uri or self._uris[0], self._uris[1]

    async def quality(self) -> QualityOutcome:
        """Frames from the stream URI (or the snapshot URI when there is no stream), judged off the loop."""
        stream, snapshot = self._media_uris()
        auth = (self.cam.username, self._password) if self._password else None
        errors = []
        for kind, uri in (("stream", stream), ("snapshot", snapshot)):
            if not uri:
                continue
            try:
                check = await check_quality(
                    uri,
                    self.cam.thresholds,
                    count=FRAMES,
                    interval=FROZEN_GAP_S,
                    timeout=self.checks.frame_timeout,
                    auth=auth,
                    snapshot=True if kind == "snapshot" else None,
                    executor=self.executor,
                )
            except GrabError as exc:
                errors.append(f"{kind}:{exc.reason}")
                continue
            payload = {**check.result.as_dict(), "verdict": check.result.verdict, "source": kind}
            return QualityOutcome(payload, check.thumbnail, kind)
        return QualityOutcome({"verdict": "unknown", "failures": [], "error": ",".join(errors) or "no_media_uri"})

    async def picture(self, timeout: float) -> bytes:  # noqa: ASYNC109 - split over the grab's own I/O timeouts
        """One JPEG of what the camera sees now (for an alarm), snapshot URI first: it is the cheaper one."""
        stream, snapshot = self._media_uris()
        auth = (self.cam.username, self._password) if self._password else None
        errors = []
        for kind, uri in (("snapshot", snapshot), ("stream", stream)):
            if not uri:
                continue
            try:
                return await grab_then(
                    uri,
                    lambda frames: thumbnail(frames[-1], PICTURE_WIDTH),
                    count=1,
                    interval=0.0,
                    timeout=timeout,
                    executor=self.executor,
                    auth=auth,
                    snapshot=kind == "snapshot",
                )
            except GrabError as exc:
                errors.append(f"{kind}:{exc.reason}")
        raise GrabError("open_failed", ",".join(errors) or "no media URI known yet")

    async def retention(self) -> RetentionResult:
        recorder = self.recorder if self.cam.recorder is not None else self.session
        token = self.cam.recorder.recording_token if self.cam.recorder is not None else None
        assert recorder is not None  # build_recorder() gives every camera with a recorder section one
        return await check_retention(
            recorder, required_days(self.cam, self.checks), self.checks.max_recording_lag, token
        )

    def event(self, kind: EventKind, payload: dict[str, Any]) -> Event:
        return Event(kind=kind, device_id=self.cam.id, payload=payload, ts_ms=now_ms())

    async def close(self) -> None:
        await self.session.close()


def build_recorder(cam: Camera, checks: Checks) -> OnvifSession | None:
    if cam.recorder is None:
        return None
    rec = cam.recorder
    return OnvifSession(
        rec.onvif, rec.username, read_secret(rec.password_file), f"onvif:{cam.id}:nvr", checks.call_timeout
    )


async def check_camera_now(
    cam: Camera, checks: Checks, executor: Executor | None = None, with_retention: bool = True
) -> dict[str, Any]:
    """Every check once, now (for `edge commission camera ID`). Returns all results plus snapshot bytes."""
    checker = CameraChecker.build(cam, checks, build_recorder(cam, checks), executor=executor)
    try:
        health, _ = await checker.health()
        out: dict[str, Any] = {
            "camera": cam.id,
            "state": str(checker.tracker.state),
            "health": health.as_dict(),
            "clock": {
                "drift_s": health.drift_s,
                "verdict": None if health.clock_ok is None else ("pass" if health.clock_ok else "fail"),
            },
        }
        quality = await checker.quality()
        out["quality"] = quality.payload
        out["snapshot"] = quality.jpeg
        if with_retention:
            out["retention"] = (await checker.retention()).payload()
        return out
    finally:
        await checker.close()
        if checker.recorder is not None:
            await checker.recorder.close()
