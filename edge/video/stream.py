"""Frames of a stream from edge/video/stream_grab.py (GStreamer in a child process), within a deadline.

This side runs in a decode slot's thread and holds every limit: the whole grab's deadline (the child
is killed with SIGKILL when it passes, or when the caller cancels), a cap on each header line, on
the size of a frame and on the number of frames. Whatever the child does, the thread returns by
the deadline: no thread of the camera worker waits in native code on a camera's stream.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import threading
import time
from pathlib import Path
from typing import Final

import numpy as np

from edge.redact import redact_text, redact_url
from edge.video import gst
from edge.video.errors import REASONS, GrabError
from edge.video.jpeg import MAX_PIXELS
from edge.video.pixels import Image

SCRIPT: Final = Path(__file__).with_name("stream_grab.py")
MAX_LINE: Final = 4096
# Row padding GStreamer may add to a BGR row (it aligns rows to 4 bytes).
MAX_ROW_PAD: Final = 16
# How often a wait looks at the caller's cancel flag.
POLL_S: Final = 0.2


class _Pipe:
    """Reads from the child's stdout, never past `until` (monotonic) nor after `cancel`."""

    def __init__(self, fd: int, until: float, cancel: threading.Event, uri: str) -> None:
        self.fd, self.until, self.cancel, self.uri = fd, until, cancel, uri
        self.buf = bytearray()

    def _more(self) -> None:
        while True:
            if self.cancel.is_set():
                raise GrabError("cancelled", redact_url(self.uri))
            left = self.until - time.monotonic()
            if left <= 0:
                raise GrabError("timeout", f"{redact_url(self.uri)}: no frames within the grab's deadline")
            ready, _, _ = select.select([self.fd], [], [], min(left, POLL_S))
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    raise GrabError("read_failed", f"{redact_url(self.uri)}: the decoder exited")
                self.buf += chunk
                return

    def line(self) -> dict[str, object]:
        while (end := self.buf.find(b"\n")) < 0:
            if len(self.buf) > MAX_LINE:
                raise GrabError("read_failed", f"{redact_url(self.uri)}: garbled decoder output")
            self._more()
        raw, self.buf = bytes(self.buf[:end]), self.buf[end + 1 :]
        try:
            msg = json.loads(raw)
        except ValueError:
            raise GrabError("read_failed", f"{redact_url(self.uri)}: garbled decoder output") from None
        if not isinstance(msg, dict):
            raise GrabError("read_failed", f"{redact_url(self.uri)}: garbled decoder output")
        return msg

    def exactly(self, n: int) -> bytearray:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def _frame(pipe: _Pipe, head: dict[str, object]) -> Image:
    w, h, stride = head.get("width"), head.get("height"), head.get("stride")
    if not (isinstance(w, int) and isinstance(h, int) and isinstance(stride, int)):
        raise GrabError("read_failed", f"{redact_url(pipe.uri)}: garbled decoder output")
    if w < 1 or h < 1 or w * h > MAX_PIXELS or not 3 * w <= stride <= 3 * w + MAX_ROW_PAD:
        raise GrabError("decode_failed", f"{redact_url(pipe.uri)}: frame {w}x{h} (stride {stride})")
    rows = np.frombuffer(pipe.exactly(h * stride), np.uint8).reshape(h, stride)
    return np.ascontiguousarray(rows[:, : 3 * w]).reshape(h, w, 3)


def read_stream(
    uri: str, auth: tuple[str, str] | None, count: int, interval: float, timeout: float, cancel: threading.Event
) -> list[Image]:
    """Blocking: `count` BGR frames `interval` s apart, each within `timeout` of the last; GrabError
    otherwise. The child is gone when this returns."""
    user, password = auth or ("", "")
    spec = {"uri": uri, "username": user, "password": password, "count": count, "interval": interval}
    until = time.monotonic() + timeout * (count + 1) + interval * (count - 1)  # open + reads + waits
    try:
        proc = gst.spawn(SCRIPT, {**spec, "timeout": timeout})
    except OSError as exc:  # no Debian Python with GStreamer on this box
        raise GrabError("open_failed", f"{redact_url(uri)}: no GStreamer ({exc.strerror})") from None
    try:
        assert proc.stdout is not None
        pipe = _Pipe(proc.stdout.fileno(), until, cancel, uri)
        frames: list[Image] = []
        while True:
            msg = pipe.line()
            if "frame" in msg:
                if len(frames) == count:
                    raise GrabError("read_failed", f"{redact_url(uri)}: more frames than asked for")
                frames.append(_frame(pipe, msg))
                continue
            if msg.get("ok") is True and len(frames) == count:
                return frames
            reason = str(msg.get("error") or "read_failed")
            detail = redact_text(str(msg.get("detail") or "")[:200])
            raise GrabError(reason if reason in REASONS else "read_failed", f"{redact_url(uri)}: {detail}")
    finally:
        _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    if proc.stdout is not None:
        proc.stdout.close()
    proc.wait()
