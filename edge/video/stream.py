"""Frames of a stream from edge/video/stream_grab.py (GStreamer in a child process), within a deadline.

This side runs in a decode slot's thread and holds every limit: the whole grab's deadline (the child
is killed with SIGKILL when it passes, or when the caller cancels), a cap on each header line, on
the size of a frame and on the number of frames. Whatever the child does, the thread returns by
the deadline: no thread of the camera worker waits in native code on a camera's stream.

A child that answered and tore its pipeline down goes back to a pool for the next grab (at most one
per decode slot is busy), so a sweep of 128 cameras starts a handful of processes, not 128; an idle
child exits on its own after stream_grab.IDLE_EXIT_S, so between sweeps none is resident.
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
from edge.video.stream_grab import IDLE_EXIT_S

SCRIPT: Final = Path(__file__).with_name("stream_grab.py")
# An idle child about to exit on its own may take our request into a pipe it never reads: only one
# idle for clearly less than its exit delay is asked again, an older one is ended and replaced.
REUSE_WITHIN_S: Final = IDLE_EXIT_S - 1.0
MAX_LINE: Final = 4096
# Row padding GStreamer may add to a BGR row (it aligns rows to 4 bytes).
MAX_ROW_PAD: Final = 16
# How often a wait looks at the caller's cancel flag.
POLL_S: Final = 0.2
# After its answer, a child has this long to tear its pipeline down and say it is ready again.
READY_S: Final = 1.0


class _Pipe:
    """Reads from the child's stdout, never past `until` (monotonic) nor after `cancel`."""

    def __init__(self, fd: int, until: float, cancel: threading.Event, uri: str, buf: bytearray) -> None:
        self.fd, self.until, self.cancel, self.uri = fd, until, cancel, uri
        self.buf = buf  # the child's, kept across its grabs

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
        raw = bytes(self.buf[:end])
        del self.buf[: end + 1]
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
        out = self.buf[:n]
        del self.buf[:n]
        return out


def _frame(pipe: _Pipe, head: dict[str, object]) -> Image:
    w, h, stride = head.get("width"), head.get("height"), head.get("stride")
    if not (isinstance(w, int) and isinstance(h, int) and isinstance(stride, int)):
        raise GrabError("read_failed", f"{redact_url(pipe.uri)}: garbled decoder output")
    if w < 1 or h < 1 or w * h > MAX_PIXELS or not 3 * w <= stride <= 3 * w + MAX_ROW_PAD:
        raise GrabError("decode_failed", f"{redact_url(pipe.uri)}: frame {w}x{h} (stride {stride})")
    rows = np.frombuffer(pipe.exactly(h * stride), np.uint8).reshape(h, stride)
    return np.ascontiguousarray(rows[:, : 3 * w]).reshape(h, w, 3)


class _Child:
    """One grab process and what it has written that was not read yet."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self.proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and our own script
            [gst.GST_PYTHON, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=gst.child_env()
        )
        self.buf = bytearray()
        self.idle_since = time.monotonic()

    def ask(self, spec: dict[str, object]) -> bool:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(spec).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:  # it exited (idle, or it died)
            return False
        return True

    def end(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self.proc.wait()


class _Pool:
    """Grab processes that answered their last grab and are ready for the next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Child] = []

    def take(self, script: Path, spec: dict[str, object]) -> _Child:
        while True:
            with self._lock:
                child = next((c for c in self._idle if c.script == script), None)
                if child is not None:
                    self._idle.remove(child)
            if child is None:
                break
            fresh = time.monotonic() - child.idle_since < REUSE_WITHIN_S
            if fresh and child.proc.poll() is None and child.ask(spec):
                return child
            child.end()  # exited while idle: reaped here
        child = _Child(script)
        if not child.ask(spec):
            child.end()
            raise GrabError("open_failed", "the stream decoder did not start")
        return child

    def give(self, child: _Child) -> None:
        child.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(child)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.end()

    def pids(self) -> set[int]:
        with self._lock:
            return {c.proc.pid for c in self._idle}


POOL: Final = _Pool()


def read_stream(
    uri: str, auth: tuple[str, str] | None, count: int, interval: float, timeout: float, cancel: threading.Event
) -> list[Image]:
    """Blocking: `count` BGR frames `interval` s apart, each within `timeout` of the last; GrabError
    otherwise. A child that failed to answer in time is killed before this returns."""
    user, password = auth or ("", "")
    spec = {"uri": uri, "username": user, "password": password, "count": count, "interval": interval}
    until = time.monotonic() + timeout * (count + 1) + interval * (count - 1)  # open + reads + waits
    try:
        child = POOL.take(SCRIPT, {**spec, "timeout": timeout})
    except OSError as exc:  # no Debian Python with GStreamer on this box
        raise GrabError("open_failed", f"{redact_url(uri)}: no GStreamer ({exc.strerror})") from None
    assert child.proc.stdout is not None
    pipe = _Pipe(child.proc.stdout.fileno(), until, cancel, uri, child.buf)
    reusable = False
    try:
        frames: list[Image] = []
        while True:
            msg = pipe.line()
            if "frame" in msg:
                if len(frames) == count:
                    raise GrabError("read_failed", f"{redact_url(uri)}: more frames than asked for")
                frames.append(_frame(pipe, msg))
                continue
            if "ok" not in msg:
                raise GrabError("read_failed", f"{redact_url(uri)}: garbled decoder output")
            # The answer is in; the child is reused once it says its pipeline is gone (soon, or never).
            pipe.until = min(until, time.monotonic() + READY_S)
            with contextlib.suppress(GrabError):
                reusable = pipe.line().get("ready") is True
            if msg.get("ok") is True and len(frames) == count:
                return frames
            reason = str(msg.get("error") or "read_failed")
            detail = redact_text(str(msg.get("detail") or "")[:200])
            raise GrabError(reason if reason in REASONS else "read_failed", f"{redact_url(uri)}: {detail}")
    finally:
        if reusable and not cancel.is_set():
            POOL.give(child)
        else:
            child.end()
