"""The seconds before a press from the linked camera's recorder (ONVIF replay), kept with the alarm.

Asked of the camera worker after the press was committed, beside the relay and never in front of
it: the police report has left before this starts. A recorder writes video in segments and the
newest seconds are not replayable until their segment is flushed, so the first ask waits until
`clip_after` has passed plus FLUSH_WAIT_S, and a clip that stops short of what was asked (or a
recorder that has nothing yet) is asked again, at most ATTEMPTS times. The best clip got is kept.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client import Counter

from edge.camworker.host import CameraWorker, ClipError
from edge.camworker.protocol import ClipReply
from edge.config import Config
from edge.config.devices import Recorder
from edge.events import Event, now_ms
from edge.runtime import Runtime
from edge.store import changes
from edge.store.clips import ClipState, put_clip

log = logging.getLogger(__name__)

# A recorder's segments are a few seconds long (2-4 s on common NVRs): the first ask waits that out.
FLUSH_WAIT_S: Final = 3.0
ATTEMPTS: Final = 5
RETRY_S: Final = 3.0
# One pull (GetReplayUri + RTSP replay + remux) of a 12 s clip takes about a second on the box.
PULL_DEADLINE_S: Final = 20.0
# A clip ending this close to what was asked counts as complete (a picture every 0.1-0.5 s).
SHORT_S: Final = 1.0
MAX_INFLIGHT: Final = 8
# Errors worth another try: the recorder has not flushed yet, or a transient failure.
RETRYABLE: Final = frozenset({"empty", "replay_failed", "deadline", "timeout", "unreachable", "no_worker",
                              "worker_replaced", "incomplete"})  # fmt: skip
CLIPS = Counter("edge_press_clips_total", "Pre-alarm clips asked of the recorders, by outcome", ["outcome"])


@dataclass(frozen=True, slots=True)
class _Want:
    camera: str
    start_ms: int
    end_ms: int


class PressClips:
    def __init__(self, config: Config, runtime: Runtime, worker: Callable[[], CameraWorker | None]) -> None:
        recorders: dict[str, Recorder] = {c.id: c.recorder for c in config.cameras if c.recorder is not None}
        self.cameras = {b.id: b.camera for b in config.buttons if b.camera in recorders}
        self.recorders = recorders
        self.runtime = runtime
        self.worker = worker
        self.retry_s = RETRY_S
        self.flush_wait_s = FLUSH_WAIT_S
        self._tasks: set[asyncio.Task[None]] = set()

    def on_press(self, event: Event) -> None:
        """On the loop, right after the press was committed."""
        camera = self.cameras.get(event.device_id)
        if camera is None:
            return
        if len(self._tasks) >= MAX_INFLIGHT:
            CLIPS.labels(outcome="skipped").inc()
            log.warning("clip for %s skipped: %d already being fetched", event.device_id, len(self._tasks))
            return
        rec = self.recorders[camera]
        want = _Want(camera, event.ts_ms - int(rec.clip_before * 1000), event.ts_ms + int(rec.clip_after * 1000))
        task = asyncio.get_running_loop().create_task(self._fetch(event, want), name=f"clip:{event.device_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, event: Event, want: _Want) -> None:
        await self._save(event, want.camera, ClipState.PENDING, 0)
        wait_s = (want.end_ms - now_ms()) / 1000 + self.flush_wait_s
        await asyncio.sleep(max(0.0, wait_s))
        best: ClipReply | None = None
        error = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = await self._ask(want)
            except ClipError as exc:
                error = exc.kind
            else:
                if best is None or reply.end_ms > best.end_ms:
                    best = reply
                error = "" if reply.end_ms >= want.end_ms - SHORT_S * 1000 else "incomplete"
            if not error or error not in RETRYABLE or attempt == ATTEMPTS:
                break
            log.info(
                "clip of %s for %s: %s, asking again (%d/%d)", want.camera, event.device_id, error, attempt, ATTEMPTS
            )
            await self._save(event, want.camera, ClipState.PENDING, attempt, error=error)
            await asyncio.sleep(self.retry_s)
        outcome = "ok" if best is not None and not error else ("partial" if best is not None else "failed")
        CLIPS.labels(outcome=outcome).inc()
        if best is None:
            log.warning("press at %s: no clip from %s's recorder: %s", event.device_id, want.camera, error)
            await self._save(event, want.camera, ClipState.FAILED, attempt, error=error)
            return
        span = (best.start_ms, best.end_ms)
        await self._save(event, want.camera, ClipState.READY, attempt, best.mp4, span, error or None)

    async def _ask(self, want: _Want) -> ClipReply:
        worker = self.worker()
        if worker is None:
            raise ClipError("no_worker", "no camera worker running")
        return await worker.clip(want.camera, want.start_ms, want.end_ms, PULL_DEADLINE_S)

    async def _save(
        self,
        event: Event,
        camera: str,
        state: ClipState,
        attempts: int,
        mp4: bytes | None = None,
        span: tuple[int, int] | None = None,
        error: str | None = None,
    ) -> None:
        def write(conn: sqlite3.Connection, now: int) -> None:
            put_clip(conn, event.id, event.device_id, camera, event.ts_ms, state, attempts, now, mp4, span, error)

        await self.runtime.command(write, actor="", action="", ref=event.id, feed=changes.MEDIA, audited=False)
