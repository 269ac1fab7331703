"""Grab frames from a camera: RTSP/HTTP streams decoded by GStreamer in a child process, MJPEG
streams and snapshot JPEGs read by us and decoded with Pillow.

All decoding runs under the process-wide DecodeLimiter; every failure is a GrabError with a reason,
never a crash. Frames of a stream are taken `interval` seconds apart from one session, the decoder
seeing (and dropping) the frames in between, so the second frame is what the camera sees `interval`
seconds later and not a stale buffered one. A stream grab is its own process, killed at the grab's
deadline (edge/video/stream.py): a stream that stalls or a decoder that hangs ties up no thread here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
from collections.abc import Callable
from typing import Final, TypeVar
from urllib.parse import urlsplit

from prometheus_client import Counter

from edge.metrics import bad_input
from edge.redact import redact_url
from edge.video.errors import GrabError
from edge.video.limiter import DECODES, DecodeLimiter
from edge.video.mjpeg import NotMultipart, fetch_mjpeg
from edge.video.pixels import Image
from edge.video.snapshot import Auth, decode_jpeg, fetch_snapshot, grab_snapshot
from edge.video.stream import read_stream

logger = logging.getLogger(__name__)

__all__ = ["GrabError", "grab_frames", "grab_snapshot", "grab_then", "is_snapshot_uri"]

T = TypeVar("T")

_SNAPSHOT_PATH = re.compile(
    r"(\.jpe?g$|snapshot|snap\.|/cgi-bin/.*(snap|jpg)|/ISAPI/Streaming/channels/\d+/picture)", re.I
)
_SCHEMES: Final = ("rtsp", "rtsps", "http", "https", "file")

GRABS = Counter("edge_video_grabs_total", "Frame grabs by how they ended", ["kind", "result"])


def is_snapshot_uri(uri: str) -> bool:
    """http(s) URLs that serve one JPEG per request (ONVIF GetSnapshotUri, vendor CGI paths)."""
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and any(_SNAPSHOT_PATH.search(x) for x in (parts.path, parts.query))


def _stream_auth(uri: str, auth: Auth) -> tuple[str, str] | None:
    """The user name and password for the stream's source, unless the URI carries its own."""
    if not isinstance(auth, tuple) or urlsplit(uri).username is not None:
        return None
    return auth


async def grab_frames(
    uri: str,
    count: int = 2,
    interval: float = 2.0,
    timeout: float = 10.0,  # noqa: ASYNC109 - per open/read in the worker thread, where asyncio.timeout cannot reach
    executor: concurrent.futures.Executor | None = None,
    *,
    auth: Auth = None,
    snapshot: bool | None = None,
    limiter: DecodeLimiter = DECODES,
) -> list[Image]:
    """`count` BGR frames `interval` s apart from a stream or snapshot URI, or GrabError.

    `snapshot=None` decides by the URI (is_snapshot_uri); `timeout` bounds opening and each read,
    counted from when a decode slot is free, not while queued behind other cameras.
    """
    return await grab_then(
        uri, _frames, count, interval, timeout, executor, auth=auth, snapshot=snapshot, limiter=limiter
    )


def _frames(frames: list[Image]) -> list[Image]:
    return frames


async def grab_then(
    uri: str,
    then: Callable[[list[Image]], T],
    count: int = 2,
    interval: float = 2.0,
    timeout: float = 10.0,  # noqa: ASYNC109 - per open/read in the worker thread, where asyncio.timeout cannot reach
    executor: concurrent.futures.Executor | None = None,
    *,
    auth: Auth = None,
    snapshot: bool | None = None,
    limiter: DecodeLimiter = DECODES,
) -> T:
    """Grab frames like grab_frames and run `then(frames)` in the same decode slot.

    Decoded frames never outlive the slot, so memory stays at (decode bound x frames) however many
    cameras are queued: snapshots wait as JPEG bytes, streams are opened only inside the slot.
    """
    if count < 1 or interval < 0 or timeout <= 0:
        raise ValueError("count >= 1, interval >= 0 and timeout > 0 are required")
    scheme = urlsplit(uri).scheme.lower()
    if scheme not in _SCHEMES:
        GRABS.labels(kind="stream", result="bad_uri").inc()
        raise GrabError("bad_uri", redact_url(uri))
    use_snapshot = is_snapshot_uri(uri) if snapshot is None else snapshot
    kind = "snapshot" if use_snapshot else "stream"
    cancel = threading.Event()
    try:
        if use_snapshot:
            datas = await _fetch_snapshots(uri, count, interval, timeout, auth)
            job: Callable[[], T] = lambda: then([decode_jpeg(d) for d in datas])  # noqa: E731
            budget = timeout
        else:
            parts = await _mjpeg(uri, count, interval, timeout, auth) if scheme in ("http", "https") else None
            budget = timeout * (count + 1) + interval * (count - 1)  # open + each read + the waits between
            if parts is not None:
                job = lambda: then([decode_jpeg(d) for d in parts])  # noqa: E731
            else:
                creds = _stream_auth(uri, auth)
                job = lambda: then(read_stream(uri, creds, count, interval, timeout, cancel))  # noqa: E731
        try:
            result = await limiter.run(job, executor, budget)
        except TimeoutError:
            raise GrabError("timeout", f"{redact_url(uri)} took over {budget:.0f} s") from None
    except GrabError as exc:
        GRABS.labels(kind=kind, result=exc.reason).inc()
        if exc.reason in ("decode_failed", "too_large"):
            bad_input(logger, "video", exc.reason, redact_url(uri))
        raise
    finally:
        cancel.set()  # a stream job still running after a timeout or cancellation stops at its next frame
    GRABS.labels(kind=kind, result="ok").inc()
    return result


async def _mjpeg(url: str, count: int, interval: float, timeout: float, auth: Auth) -> list[bytes] | None:  # noqa: ASYNC109
    """MJPEG parts read by us under caps; None when the URL is another kind of stream (FFmpeg reads it)."""
    try:
        return await fetch_mjpeg(url, count, interval, timeout, auth)
    except NotMultipart:
        return None


async def _fetch_snapshots(url: str, count: int, interval: float, io_timeout: float, auth: Auth) -> list[bytes]:
    datas: list[bytes] = []
    loop = asyncio.get_running_loop()
    first_at = 0.0
    for i in range(count):
        if i:
            await asyncio.sleep(max(0.0, first_at + i * interval - loop.time()))
        datas.append(await fetch_snapshot(url, auth, io_timeout))
        if not i:
            first_at = loop.time()
    return datas
