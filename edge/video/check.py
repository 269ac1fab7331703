"""One call for a camera's image-quality check: grab, judge off the loop, thumbnail.

The camera driver calls `check_quality` every checks.quality_interval (and on demand) and stores
`result.as_dict()` with a camera.quality event and `thumbnail` via DriverContext.save_snapshot.
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass

from edge.config.devices import QualityThresholds
from edge.redact import redact_url
from edge.video.errors import GrabError
from edge.video.grab import grab_then
from edge.video.limiter import DECODES, DecodeLimiter
from edge.video.quality import Image, QualityError, QualityResult, assess, thumbnail
from edge.video.snapshot import Auth


@dataclass(frozen=True)
class QualityCheck:
    result: QualityResult
    thumbnail: bytes  # JPEG, 320 px wide, of the last frame
    uri: str  # redacted: safe to log and show
    elapsed_s: float


async def check_quality(
    uri: str,
    thresholds: QualityThresholds | None = None,
    *,
    count: int = 2,
    interval: float = 2.0,
    timeout: float = 10.0,  # noqa: ASYNC109 - passed to the grab's per-operation timeouts
    auth: Auth = None,
    snapshot: bool | None = None,
    limiter: DecodeLimiter = DECODES,
    executor: concurrent.futures.Executor | None = None,
) -> QualityCheck:
    """Grab `count` frames `interval` s apart and judge them; GrabError if no picture was obtained."""
    started = time.monotonic()

    def judge(frames: list[Image]) -> tuple[QualityResult, bytes]:
        # Runs in the grab's decode slot: frames are judged and dropped before the slot is freed.
        try:
            return assess(frames, thresholds), thumbnail(frames[-1])
        except QualityError as exc:  # e.g. a 4x4 "picture": the camera sent nothing usable
            raise GrabError("decode_failed", f"{redact_url(uri)}: {exc}") from None

    result, thumb = await grab_then(
        uri, judge, count, interval, timeout, executor, auth=auth, snapshot=snapshot, limiter=limiter
    )
    return QualityCheck(result, thumb, redact_url(uri), time.monotonic() - started)
