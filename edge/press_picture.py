"""The picture of the spot: at a press, the linked camera's frame from the camera worker (asked for
within `PICTURE_DEADLINE_S`), stored with the alarm. Runs beside the relay, never in front of it:
the police report was committed before this starts and is not held for the picture."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from prometheus_client import Counter

from edge.camworker.host import CameraWorker, PictureError
from edge.config import Config
from edge.events import Event, now_ms
from edge.runtime import Runtime
from edge.store import changes
from edge.store.media import put_media

log = logging.getLogger(__name__)

# The bar: the picture is grabbed within 1 s of the press.
PICTURE_DEADLINE_S = 1.0
MAX_INFLIGHT = 8  # a storm of presses never queues more grabs than the worker can take
PICTURES = Counter("edge_press_pictures_total", "Pictures asked for at a press, by outcome", ["outcome"])


class PressPictures:
    def __init__(self, config: Config, runtime: Runtime, worker: Callable[[], CameraWorker | None]) -> None:
        self.cameras = {b.id: b.camera for b in config.buttons if b.camera is not None}
        self.runtime = runtime
        self.worker = worker
        self._tasks: set[asyncio.Task[None]] = set()

    def on_press(self, event: Event) -> None:
        """On the loop, right after the press was committed."""
        camera = self.cameras.get(event.device_id)
        if camera is None:
            return
        if len(self._tasks) >= MAX_INFLIGHT:
            PICTURES.labels(outcome="skipped").inc()
            log.warning("press picture for %s skipped: %d already being taken", event.device_id, len(self._tasks))
            return
        task = asyncio.get_running_loop().create_task(self._take(event, camera), name=f"picture:{event.device_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take(self, event: Event, camera: str) -> None:
        jpeg: bytes | None = None
        error: str | None = None
        worker = self.worker()
        try:
            if worker is None:
                raise PictureError("no camera worker running")
            jpeg = await worker.picture(camera, PICTURE_DEADLINE_S)
        except PictureError as exc:
            error = str(exc)[:200]
        grabbed = now_ms() if jpeg is not None else None
        PICTURES.labels(outcome="ok" if jpeg is not None else "failed").inc()
        if error:
            log.warning("press at %s: no picture from %s: %s", event.device_id, camera, error)
        await self.runtime.command(
            lambda conn, _now: put_media(conn, event.id, event.device_id, camera, event.ts_ms, grabbed, jpeg, error),
            actor="",
            action="",
            ref=event.id,
            feed=changes.MEDIA,
            audited=False,
        )
