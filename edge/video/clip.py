"""The seconds around a press, pulled from the recorder as an MP4 (camera worker only).

GetReplayUri (edge.onvif.replay), then edge/video/replay_pull.py under Debian's Python with
GStreamer does the RTSP replay and remuxes the H.264 to MP4 without re-encoding. This side holds the
limits: a deadline for the whole pull and a byte cap on the file, each ending the subprocess with
SIGKILL, so a recorder that stalls or streams without end costs at most that much.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from edge.config.devices import Camera
from edge.config.secrets import SecretError, read_secret
from edge.onvif.replay import replay_uri
from edge.onvif.session import CallError, OnvifSession
from edge.video import gst
from edge.video.mp4 import Mp4Error, inspect

log = logging.getLogger(__name__)

PULL_SCRIPT: Final = Path(__file__).with_name("replay_pull.py")
NTP_OFFSET_S: Final = 2_208_988_800
# How often the file's size is looked at against the cap: 10 MB/s of replay passes at most 2 MB over.
WATCH_S: Final = 0.2
ONVIF_TIMEOUT_S: Final = 5.0
EXIT_WAIT_S: Final = 1.0


class ClipError(Exception):
    """No clip: `kind` is short and stable (for the alarm and the metrics), `detail` for the log."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Clip:
    mp4: bytes
    start: float  # Unix seconds of the first and last picture in it (the recorder's clock)
    end: float
    duration_s: float


def _child_env(user: str, password: str) -> dict[str, str]:
    return gst.child_env({"EDGE_RTSP_USER": user, "EDGE_RTSP_PASSWORD": password} if user else None)


# A replay that delivered no picture at all (see replay_pull.FIRST_PICTURE_S) is tried again at once.
PULL_TRIES: Final = 3


async def pull(
    uri: str, start: float, end: float, deadline_s: float, max_bytes: int, user: str = "", password: str = ""
) -> Clip:
    """The recording between `start` and `end` (Unix seconds) at `uri`, or ClipError; all within `deadline_s`."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline_s
    for attempt in range(1, PULL_TRIES + 1):
        try:
            return await _pull_once(uri, start, end, until - loop.time(), max_bytes, user, password)
        except ClipError as exc:
            if exc.kind != "no_pictures":
                raise
            if attempt == PULL_TRIES or until - loop.time() < 1:
                # Whether the recorder's end-of-range reached rtspsrc or not, no picture came: the same
                # "not recorded (yet)" the core asks again about.
                raise ClipError("empty", f"the recorder sent no pictures ({exc.detail})") from None
            where = uri.rsplit("@", maxsplit=1)[-1]  # never the credentials of rtsp://user:pw@host
            log.info("replay of %s gave no pictures, trying again (%d/%d)", where, attempt, PULL_TRIES)
    raise AssertionError("unreachable")  # the loop returns or raises


async def _pull_once(
    uri: str, start: float, end: float, deadline_s: float, max_bytes: int, user: str, password: str
) -> Clip:
    with tempfile.TemporaryDirectory(prefix="edge-clip-") as tmp:
        out = Path(tmp) / "clip.mp4"
        try:
            proc = await asyncio.create_subprocess_exec(
                gst.GST_PYTHON, str(PULL_SCRIPT), uri, f"{start:.3f}", f"{end:.3f}", str(out),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                env=_child_env(user, password),
            )  # fmt: skip
        except OSError as exc:  # no Debian Python with GStreamer on this box
            raise ClipError("no_gstreamer", str(exc)) from None
        try:
            async with asyncio.timeout(deadline_s):
                report = await _watch(proc, out, max_bytes)
        except TimeoutError:
            raise ClipError("deadline", f"no clip within {deadline_s:.0f} s") from None
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
        if not report.get("ok"):
            raise ClipError(str(report.get("error") or "replay_failed"), str(report.get("detail") or "")[:200])
        data = out.read_bytes() if out.exists() else b""
    if not data or not report.get("frames"):
        raise ClipError("empty", "the recorder sent no pictures")
    try:
        info = inspect(data)
    except Mp4Error as exc:
        raise ClipError("bad_mp4", str(exc)) from None
    first, last = report.get("first"), report.get("last")
    if not isinstance(first, int | float) or not isinstance(last, int | float):
        raise ClipError("bad_mp4", "no timestamps")
    return Clip(data, float(first) - NTP_OFFSET_S, float(last) - NTP_OFFSET_S, info.duration_s)


async def _watch(proc: asyncio.subprocess.Process, out: Path, max_bytes: int) -> dict[str, object]:
    assert proc.stdout is not None
    reading = asyncio.ensure_future(proc.stdout.readline())
    try:
        while True:
            done, _ = await asyncio.wait({reading}, timeout=WATCH_S)
            with contextlib.suppress(OSError):
                if out.stat().st_size > max_bytes:  # noqa: ASYNC240 - a local temp file's stat: microseconds
                    raise ClipError("too_large", f"over {max_bytes // 1024} kB")
            if done:
                break
    finally:
        if not reading.done():
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    with contextlib.suppress(TimeoutError):  # the answer is in; a shutdown that hangs is killed by the caller
        await asyncio.wait_for(proc.wait(), EXIT_WAIT_S)
    try:
        report = json.loads(reading.result().decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "error": "replay_failed", "detail": f"pull exited with {proc.returncode}"}
    return report if isinstance(report, dict) else {"ok": False, "error": "replay_failed"}


async def fetch(camera: Camera, start: float, end: float, deadline_s: float, max_bytes: int) -> Clip:
    """Ask the camera's recorder for the replay URI, then pull; the whole within `deadline_s`."""
    rec = camera.recorder
    if rec is None:
        raise ClipError("no_recorder")
    try:
        password = read_secret(rec.password_file) or ""
    except SecretError as exc:
        raise ClipError("auth_failed", str(exc)) from None
    token = rec.recording_token
    if not token:
        raise ClipError("no_recording_token", "recorder.recording_token is not set")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    session = OnvifSession(rec.onvif, rec.username, password, f"recorder:{camera.id}", ONVIF_TIMEOUT_S)
    try:
        async with asyncio.timeout(min(deadline_s, 2 * ONVIF_TIMEOUT_S)):
            uri = await replay_uri(session, token)
    except CallError as err:
        raise ClipError(err.kind, f"{err.op}: {err.detail}") from None
    except TimeoutError:
        raise ClipError("timeout", "GetReplayUri") from None
    finally:
        await session.close()
    left = deadline_s - (loop.time() - t0)
    if left <= 0:
        raise ClipError("deadline", "no time left after GetReplayUri")
    return await pull(uri, start, end, left, max_bytes, rec.username, password)
