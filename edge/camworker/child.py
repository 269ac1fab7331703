"""The camera worker process: `python -m edge.camworker`, started by the alarm core only.

It reads one `start` line (the validated config) on stdin, then runs the camera checks exactly as the
onvif_cameras driver schedules them. It never opens the store: every event and thumbnail is a message
on stdout (fd 1 is kept for the protocol; anything printed goes to stderr, the core's log). A heartbeat
every `heartbeat_s` carries the decodes in flight, so the core sees a grab stuck in native code and
replaces this process. Snapshot, recording-search and clip requests on stdin are answered within
their deadline.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import signal
import sys

from edge.camworker import protocol as p
from edge.config import Config
from edge.config.devices import Camera
from edge.drivers.base import DriverContext
from edge.drivers.camera import CameraDriver
from edge.events import Event, now_ms
from edge.onvif.recordings import NoSearch
from edge.onvif.session import CallError
from edge.video import clip
from edge.video.clip import ClipError
from edge.video.limiter import DECODES

log = logging.getLogger("edge.camworker")


class Outbox:
    """Protocol lines to the core, in order, from the one event loop."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._lock = asyncio.Lock()

    async def send(self, msg: p.Message) -> None:
        line = p.encode(msg)
        async with self._lock:
            self._writer.write(line)
            await self._writer.drain()


async def _pipes() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print or a C library's stdout can no longer corrupt the protocol
    sys.stdout = sys.stderr
    reader = asyncio.StreamReader(limit=p.MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, proto = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, proto_out)
    writer = asyncio.StreamWriter(transport, proto, None, loop)
    return reader, writer


async def _heartbeats(out: Outbox, every: float) -> None:
    seq = 0
    while True:
        grabs = tuple(p.Grab(label, age, budget) for label, age, budget in DECODES.running())
        await out.send(p.Heartbeat(seq, grabs))
        seq += 1
        await asyncio.sleep(every)


async def _answer(driver: CameraDriver, out: Outbox, req: p.SnapshotRequest) -> None:
    try:
        async with asyncio.timeout(req.deadline_s):
            jpeg = await driver.picture(req.device_id, req.deadline_s)
        reply = p.Reply(req.req, req.device_id, jpeg, ts_ms=now_ms())
    except TimeoutError:
        reply = p.Reply(req.req, req.device_id, error="deadline")
    except LookupError:
        reply = p.Reply(req.req, req.device_id, error="unknown_camera")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, never a dead worker
        reply = p.Reply(req.req, req.device_id, error=getattr(exc, "reason", type(exc).__name__))
    await out.send(reply)


async def _search(driver: CameraDriver, out: Outbox, req: p.RecordingsRequest) -> None:
    try:
        async with asyncio.timeout(req.deadline_s):
            recorder, spans = await driver.recordings(req.device_id, req.start_s, req.end_s)
        found = tuple(p.RecordSpan(s.start, s.end, s.recording) for s in spans[: p.MAX_SPANS])
        reply = p.RecordingsReply(req.req, req.device_id, found, recorder)
    except TimeoutError:
        reply = p.RecordingsReply(req.req, req.device_id, error="deadline")
    except LookupError:
        reply = p.RecordingsReply(req.req, req.device_id, error="unknown_camera")
    except NoSearch as exc:
        reply = p.RecordingsReply(req.req, req.device_id, recorder=str(exc), error="no_search")
    except CallError as exc:
        reply = p.RecordingsReply(req.req, req.device_id, error=f"{exc.op}: {exc.kind}")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, never a dead worker
        reply = p.RecordingsReply(req.req, req.device_id, error=type(exc).__name__)
    await out.send(reply)


# Each clip is a GStreamer process; two at a time keeps a storm of presses from starving the checks.
CLIP_SLOTS = asyncio.Semaphore(2)


async def _answer_clip(cameras: dict[str, Camera], out: Outbox, req: p.ClipRequest) -> None:
    cam = cameras.get(req.camera)
    try:
        if cam is None:
            raise ClipError("unknown_camera")
        async with asyncio.timeout(req.deadline_s), CLIP_SLOTS:
            got = await clip.fetch(cam, req.start_ms / 1000, req.end_ms / 1000, req.deadline_s, p.MAX_CLIP_BYTES)
        reply = p.ClipReply(req.req, req.camera, got.mp4, "", int(got.start * 1000), int(got.end * 1000))
    except TimeoutError:
        reply = p.ClipReply(req.req, req.camera, error="deadline")
    except ClipError as exc:
        log.warning("clip of %s: %s", req.camera, exc)
        reply = p.ClipReply(req.req, req.camera, error=exc.kind)
    except Exception as exc:  # any failure is the answer, never a dead worker
        log.exception("clip of %s failed", req.camera)
        reply = p.ClipReply(req.req, req.camera, error=type(exc).__name__)
    await out.send(reply)


async def _stream_uri(driver: CameraDriver, out: Outbox, req: p.StreamUriRequest) -> None:
    try:
        uri = await driver.stream_uri(req.device_id, req.deadline_s)
        reply = (
            p.StreamUriReply(req.req, req.device_id, uri)
            if uri
            else p.StreamUriReply(req.req, req.device_id, error="no_stream_uri")
        )
    except LookupError:
        reply = p.StreamUriReply(req.req, req.device_id, error="unknown_camera")
    await out.send(reply)


async def _requests(
    reader: asyncio.StreamReader, driver: CameraDriver, out: Outbox, cameras: dict[str, Camera]
) -> None:
    tasks: set[asyncio.Task[None]] = set()
    while True:
        line = await reader.readline()
        if not line:
            raise SystemExit(0)  # the core closed our stdin: it is gone or stopping us
        msg = p.decode(line)
        if isinstance(msg, p.SnapshotRequest):
            task = asyncio.create_task(_answer(driver, out, msg))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif isinstance(msg, p.RecordingsRequest):
            task = asyncio.create_task(_search(driver, out, msg))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif isinstance(msg, p.StreamUriRequest):
            task = asyncio.create_task(_stream_uri(driver, out, msg))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif isinstance(msg, p.ClipRequest):
            task = asyncio.create_task(_answer_clip(cameras, out, msg))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_core() -> None:
    """A core killed with SIGKILL runs no cleanup: the kernel must take this process with it."""
    core = os.environ.get("EDGE_CORE_PID")
    if core is None or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(core):  # the core died before the prctl took effect
        raise SystemExit(0)


async def serve() -> None:
    reader, writer = await _pipes()
    first = await reader.readline()
    start = json.loads(first)
    if start.get("v") != p.VERSION or start.get("type") != "start":
        raise SystemExit(f"camera worker: expected a v{p.VERSION} start line")
    config = Config.model_validate(start["config"])
    out = Outbox(writer)

    async def emit(event: Event) -> None:
        await out.send(p.EventMsg(event))

    async def save(device_id: str, jpeg: bytes, ts_ms: int) -> None:
        await out.send(p.Snapshot(device_id, jpeg, ts_ms))

    ctx = DriverContext(site_id=config.site.id, emit=emit, save_snapshot=save)
    driver = CameraDriver("cameras", ctx, list(config.cameras), config.checks, config.site.timezone)
    await out.send(p.Hello(os.getpid(), tuple(c.id for c in config.cameras)))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(_heartbeats(out, float(start.get("heartbeat_s", 1.0))))
        tg.create_task(_requests(reader, driver, out, {c.id: c for c in config.cameras}))
        tg.create_task(driver.run())


def main(argv: list[str] | None = None) -> int:
    level = os.environ.get("EDGE_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(stream=sys.stderr, level=level, format="%(levelname)s camworker %(name)s: %(message)s")
    # The HTTP clients log every request's URL, and vendor snapshot URLs carry `?pwd=`: only their warnings.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        _die_with_core()
        asyncio.run(serve())
    except SystemExit as exc:
        if isinstance(exc.code, str):
            log.error("%s", exc.code)
        return exc.code if isinstance(exc.code, int) else 1
    return 0
