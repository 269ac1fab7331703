"""The core's side of the camera worker: start it, feed its results to the runtime, replace it on a fault.

One `run()` is one worker process. It ends by raising WorkerFault when the worker crashes (any exit,
SIGSEGV included), stops heartbeating, speaks garbage, holds a grab past its deadline (a thread stuck
in native code: only a new process frees it) or outgrows its memory cap; the process is killed before
`run()` returns, and the supervisor (edge.supervisor) starts the next one with back-off. Nothing on the
alarm path awaits the worker: its events enter the runtime's queue like any driver's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from prometheus_client import Counter, Gauge

from edge.camworker import protocol as p
from edge.config import Config
from edge.events import Event, EventKind
from edge.metrics import bad_input

log = logging.getLogger(__name__)

# The worker imports the ONVIF and video stacks (~1-2 s on a loaded 2-core box) before its hello.
START_TIMEOUT_S: Final = 30.0
HEARTBEAT_S: Final = 1.0
# A grab may overrun its own budget by this much (thread scheduling, a last read) before it counts as hung.
GRAB_MARGIN_S: Final = 5.0
WATCH_EVERY_S: Final = 0.5
# What a snapshot request may add to its own deadline: the reply crossing the pipe.
REPLY_MARGIN_S: Final = 1.0

WORKER_FAULTS = Counter("edge_camera_worker_faults_total", "Camera worker processes replaced, by cause", ["cause"])
# glibc tuning for the worker (an operator's own MALLOC_* settings win). Frames and their float
# copies are 1-8 MB each: with a fixed mmap threshold every one is mapped and unmapped on free,
# where glibc's sliding threshold would move them into heap arenas that never shrink (measured: +22 MB
# RSS after 32 cameras' quality checks with 4 decode threads, +1 MB with this); two arenas instead
# of one per decode thread.
WORKER_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "2"}
WORKER_RSS = Gauge("edge_camera_worker_rss_bytes", "Resident memory of the camera worker process")

Submit = Callable[[Event | p.Snapshot], Awaitable[None]]

# What a camera worker may report. A worker taken over through a decoder bug must not be able to
# forge a panic press or speak for a device that is not one of its cameras.
WORKER_EVENT_KINDS: Final = frozenset(
    {
        EventKind.DEVICE_ONLINE,
        EventKind.DEVICE_OFFLINE,
        EventKind.CAMERA_QUALITY,
        EventKind.CAMERA_RETENTION,
        EventKind.CAMERA_CLOCK,
    }
)


WORKER_NICE = 10  # added to the core's nice value for the camera worker


class WorkerFault(RuntimeError):
    """The worker had to be replaced; `cause` is a short identifier (crashed, silent, grab_hung, ...)."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"camera worker {cause}: {detail}")
        self.cause = cause


class PictureError(RuntimeError):
    """A snapshot request got no picture: no worker, past its deadline, or the camera's own failure."""


class ClipError(RuntimeError):
    """A clip request got no clip; `kind` says why (no_worker, deadline, or the worker's own kind)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class SearchError(RuntimeError):
    """A recordings request got no answer: no worker, past its deadline, or the worker was replaced."""


class StreamUriError(RuntimeError):
    """A stream URI request got no URI: no worker, past its deadline, or the camera has reported none."""


class _Gone(Exception):
    """A request the worker cannot answer: `kind` as ClipError names it, `text` for the other errors."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind, self.text = kind, text


R = TypeVar("R", bound=p.Message)


def rss_bytes(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with {code}"


class CameraWorker:
    """The camera worker for one config; `run` is the supervised unit, `picture` asks it for a JPEG."""

    def __init__(self, config: Config, submit: Submit, *, argv: list[str] | None = None) -> None:
        self.config = config
        self.submit = submit
        self.argv = argv or [sys.executable, "-m", "edge.camworker"]
        self.heartbeat_timeout = config.checks.worker_heartbeat_timeout
        self.max_rss = config.checks.worker_max_rss_mb * 1024 * 1024
        self.cameras = frozenset(c.id for c in config.cameras)
        self.pid: int | None = None
        self.starts = 0
        self.last_fault = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._last_beat = 0.0
        self._submitting = False
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[p.Message]] = {}  # requests to the worker, by req id

    # --- one worker lifetime ------------------------------------------------------------------------
    async def run(self) -> None:
        env = {**WORKER_MALLOC_ENV, **os.environ, "EDGE_CORE_PID": str(os.getpid())}
        proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=p.MAX_LINE, env=env
        )
        self.starts += 1
        self.pid = proc.pid
        with contextlib.suppress(OSError):  # raising a child's nice needs no privilege; if refused, run as is
            # A worker (re)starting imports OpenCV and zeep, a second of CPU: on a small gateway the alarm
            # path must win that contest, so the worker runs at a lower CPU priority than the core.
            os.setpriority(os.PRIO_PROCESS, proc.pid, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE)
        try:
            await self._serve(proc)
        except WorkerFault as fault:
            WORKER_FAULTS.labels(cause=fault.cause).inc()
            self.last_fault = str(fault)
            raise
        finally:
            self._proc = None
            await self._reap(proc)
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(_Gone("worker_replaced", "camera worker replaced"))
            self._pending.clear()

    async def _serve(self, proc: asyncio.subprocess.Process) -> None:
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:
            raise WorkerFault("start_failed", "no pipes")
        start = {"v": p.VERSION, "type": "start", "heartbeat_s": HEARTBEAT_S}
        start["config"] = self.config.model_dump(mode="json")
        try:
            stdin.write(json.dumps(start, ensure_ascii=False).encode() + b"\n")
            await stdin.drain()
            async with asyncio.timeout(START_TIMEOUT_S):
                hello = await self._read(proc, stdout)
        except TimeoutError:
            raise WorkerFault("start_failed", f"no hello within {START_TIMEOUT_S:.0f} s") from None
        except (BrokenPipeError, ConnectionResetError):
            raise WorkerFault("crashed", _exit_text(await proc.wait())) from None
        if not isinstance(hello, p.Hello):
            raise WorkerFault("protocol", f"expected hello, got {type(hello).__name__}")
        log.info("camera worker %d up for %d camera(s)", hello.pid, len(hello.cameras))
        self._proc = proc
        self._last_beat = time.monotonic()
        # Not a TaskGroup: the first fault of either must come out as itself, not wrapped in a group.
        tasks = {asyncio.create_task(self._reader(proc, stdout)), asyncio.create_task(self._watch(proc))}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for t in done:
            t.result()  # raises the fault that ended it
        raise WorkerFault("crashed", "the worker's pipe closed")

    async def _read(self, proc: asyncio.subprocess.Process, stdout: asyncio.StreamReader) -> p.Message:
        try:
            line = await stdout.readline()
        except ValueError as exc:  # the StreamReader's limit: a line longer than MAX_LINE
            bad_input(log, "camera_worker", "oversized_line", str(exc))
            raise WorkerFault("protocol", "oversized line") from None
        if not line:
            raise WorkerFault("crashed", _exit_text(await proc.wait()))
        try:
            return p.decode(line)
        except p.ProtocolError as exc:
            bad_input(log, "camera_worker", "bad_message", str(exc))
            raise WorkerFault("protocol", str(exc)) from None

    async def _reader(self, proc: asyncio.subprocess.Process, stdout: asyncio.StreamReader) -> None:
        while True:
            msg = await self._read(proc, stdout)
            self._last_beat = time.monotonic()  # any line proves the worker's loop runs
            match msg:
                case p.Heartbeat():
                    for g in msg.grabs:
                        if g.deadline_s and g.age_s > g.deadline_s + GRAB_MARGIN_S:
                            hung = f"{g.camera}: {g.age_s:.0f} s in a {g.deadline_s:.0f} s grab"
                            raise WorkerFault("grab_hung", hung)
                case p.EventMsg():
                    self._own(msg.event.device_id, str(msg.event.kind), msg.event.kind in WORKER_EVENT_KINDS)
                    await self._submit(msg.event)
                case p.Snapshot():
                    self._own(msg.device_id, "snapshot", True)
                    await self._submit(msg)
                case p.Reply() | p.RecordingsReply() | p.StreamUriReply() | p.ClipReply():
                    fut = self._pending.pop(msg.req, None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                case _:
                    raise WorkerFault("protocol", f"unexpected {type(msg).__name__}")

    def _own(self, device_id: str, what: str, allowed: bool) -> None:
        if not allowed or device_id not in self.cameras:
            bad_input(log, "camera_worker", "foreign_message", f"{what} for {device_id}")
            raise WorkerFault("protocol", f"{what} for {device_id} is not a camera worker's to send")

    async def _submit(self, item: Event | p.Snapshot) -> None:
        # While the runtime commits (a slow disk), the worker's heartbeats wait in the pipe: not its fault.
        self._submitting = True
        try:
            await self.submit(item)
        finally:
            self._submitting = False
            self._last_beat = time.monotonic()

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            silent = time.monotonic() - self._last_beat
            if not self._submitting and silent > self.heartbeat_timeout:
                raise WorkerFault("silent", f"no heartbeat for {silent:.1f} s")
            rss = rss_bytes(proc.pid)
            if rss is not None:
                WORKER_RSS.set(rss)
                if rss > self.max_rss:
                    raise WorkerFault("memory", f"{rss // 2**20} MB resident, cap {self.max_rss // 2**20} MB")

    @staticmethod
    async def _reap(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()  # a hung native call ignores anything gentler
        await asyncio.shield(proc.wait())

    # --- requests from the core ---------------------------------------------------------------------
    async def _ask(self, request: Callable[[int], p.Message], reply_type: type[R], limit_s: float) -> R:
        """Send the request built for a new req id and await the worker's reply to it, within `limit_s`.

        Raises TimeoutError, or _Gone when there is no worker, it went away, or it answered out of turn."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise _Gone("no_worker", "no camera worker running")
        req = next(self._ids)
        fut: asyncio.Future[p.Message] = asyncio.get_running_loop().create_future()
        self._pending[req] = fut
        try:
            proc.stdin.write(p.encode(request(req)))
            async with asyncio.timeout(limit_s):
                await proc.stdin.drain()
                reply = await fut
        except (BrokenPipeError, ConnectionResetError):
            raise _Gone("no_worker", "camera worker gone") from None
        finally:
            self._pending.pop(req, None)
        if not isinstance(reply, reply_type):
            raise _Gone("protocol", f"a {type(reply).__name__} answered a {reply_type.__name__} request")
        return reply

    async def picture(self, device_id: str, deadline_s: float) -> bytes:
        """A JPEG of `device_id` now, within `deadline_s` (plus the pipe's margin) or PictureError."""
        try:
            reply = await self._ask(
                lambda req: p.SnapshotRequest(req, device_id, deadline_s), p.Reply, deadline_s + REPLY_MARGIN_S
            )
        except TimeoutError:
            raise PictureError(f"{device_id}: no picture within {deadline_s:.1f} s") from None
        except _Gone as gone:
            raise PictureError(gone.text) from None
        if reply.jpeg is None:
            raise PictureError(f"{device_id}: {reply.error or 'no picture'}")
        return reply.jpeg

    async def recordings(self, device_id: str, start_s: float, end_s: float, deadline_s: float) -> p.RecordingsReply:
        """What `device_id`'s recorder holds in [start_s, end_s], within `deadline_s` (plus the pipe's
        margin) or SearchError. A reply with `error` set is the recorder's own failure."""
        try:
            return await self._ask(
                lambda req: p.RecordingsRequest(req, device_id, start_s, end_s, deadline_s),
                p.RecordingsReply,
                deadline_s + REPLY_MARGIN_S,
            )
        except TimeoutError:
            raise SearchError(f"{device_id}: no recordings answer within {deadline_s:.1f} s") from None
        except _Gone as gone:
            raise SearchError(gone.text) from None

    async def clip(self, camera: str, start_ms: int, end_ms: int, deadline_s: float) -> p.ClipReply:
        """The recorder's MP4 of `camera` between the times (Unix ms), or ClipError; never longer than the deadline."""
        try:
            reply = await self._ask(
                lambda req: p.ClipRequest(req, camera, start_ms, end_ms, deadline_s),
                p.ClipReply,
                deadline_s + REPLY_MARGIN_S,
            )
        except TimeoutError:
            raise ClipError("deadline", f"{camera}: no clip within {deadline_s:.0f} s") from None
        except _Gone as gone:
            raise ClipError(gone.kind, gone.text) from None
        if reply.camera != camera:
            raise ClipError("protocol", f"asked for {camera}, got {reply.camera}")
        if reply.mp4 is None:
            raise ClipError(reply.error or "no_clip")
        return reply

    async def stream_uri(self, device_id: str, deadline_s: float) -> str:
        """The RTSP URI `device_id` reported through ONVIF, within `deadline_s` or StreamUriError."""
        try:
            reply = await self._ask(
                lambda req: p.StreamUriRequest(req, device_id, deadline_s),
                p.StreamUriReply,
                deadline_s + REPLY_MARGIN_S,
            )
        except TimeoutError:
            raise StreamUriError(f"{device_id}: no stream URI within {deadline_s:.1f} s") from None
        except _Gone as gone:
            raise StreamUriError(gone.text) from None
        if not reply.uri:
            raise StreamUriError(f"{device_id}: {reply.error or 'no stream URI'}")
        return reply.uri

    def status(self) -> dict[str, Any]:
        rss = rss_bytes(self.pid) if self._proc is not None and self.pid is not None else None
        return {
            "running": self._proc is not None,
            "pid": self.pid if self._proc is not None else None,
            "starts": self.starts,
            "rss_bytes": rss,
            "last_fault": self.last_fault,
        }
