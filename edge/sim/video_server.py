"""A light asyncio HTTP server for simulated cameras' video: snapshot JPEGs and MJPEG streams.

Per camera id: `GET /snapshot/<id>.jpg` (one JPEG) and `GET /mjpeg/<id>` (multipart/x-mixed-replace).
Modes (edge/sim/video.py) and faults change at runtime. One process serves 130+ cameras: frames are
drawn and encoded in worker threads and cached per sensor tick, so many readers of one camera cost
one encode. Faults: "garbage" (random bytes as the JPEG), "error" (HTTP 500), "empty" (200, no
body), "hang" (accepts, never answers), "stall" (starts answering, then goes silent mid-stream with the
connection open: half a snapshot, or two MJPEG frames) and "flood" (200, then endless random bytes with
no framing, 16 KiB every 10 ms, until the client hangs up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Final

from edge.sim.video import SENSOR_FPS, SyntheticScene, encode_jpeg
from edge.sim.video_auth import HttpAuth

logger = logging.getLogger(__name__)

FAULTS: Final = ("garbage", "error", "empty", "hang", "stall", "flood")
_FLOOD_CHUNK: Final = 16384
_FLOOD_EVERY_S: Final = 0.01
# Request heads bigger than this are not from a camera client; refuse them.
_MAX_HEAD: Final = 8192
# A client that sends no complete request in this time is dropped.
_HEAD_TIMEOUT: Final = 5.0
_BOUNDARY: Final = "edgesimframe"


@dataclass
class SimVideoCamera:
    id: str
    scene: SyntheticScene
    fault: str | None = None
    requests: int = 0
    _cache: tuple[int, bytes] = (-1, b"")
    _loop_frames: list[bytes] = field(default_factory=list)  # prerendered JPEGs, served in a loop
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class VideoServer:
    """Serves the cameras added with add_camera on host:port (port 0 picks a free one at start)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fps: float = 5.0,
        auth: HttpAuth | None = None,
        width: int = 640,
        height: int = 360,
        jpeg_quality: int = 80,
        prerender: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.fps = fps
        self.auth = auth
        self.width = width
        self.height = height
        self.jpeg_quality = jpeg_quality
        # >0: encode this many frames per camera at start and loop them, so serving costs no CPU
        # (benchmarks measure the client, not the simulator's drawing and encoding).
        self.prerender = prerender
        self.cameras: dict[str, SimVideoCamera] = {}
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._t0 = time.monotonic()
        self._rng = random.Random(0xBAD)  # noqa: S311 - garbage bytes for a fault, not security

    # -- control ------------------------------------------------------------------------------
    def add_camera(self, cam_id: str, mode: str = "normal", seed: int | None = None, **scene_kw: float) -> None:
        seed = seed if seed is not None else len(self.cameras) + 1
        scene = SyntheticScene(mode, seed, self.width, self.height, **scene_kw)  # type: ignore[arg-type]
        self.cameras[cam_id] = SimVideoCamera(cam_id, scene)

    def set_mode(self, cam_id: str, mode: str, **scene_kw: float) -> None:
        cam = self.cameras[cam_id]
        cam.scene = SyntheticScene(mode, cam.scene.seed, self.width, self.height, **scene_kw)  # type: ignore[arg-type]
        cam._cache = (-1, b"")
        cam._loop_frames = self._render(cam) if self.prerender else []

    def set_fault(self, cam_id: str, fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        self.cameras[cam_id].fault = fault

    def url(self, cam_id: str, kind: str = "snapshot") -> str:
        path = f"/snapshot/{cam_id}.jpg" if kind == "snapshot" else f"/mjpeg/{cam_id}"
        return f"http://{self.host}:{self.port}{path}"

    def _render(self, cam: SimVideoCamera) -> list[bytes]:
        return [encode_jpeg(cam.scene.frame(i / SENSOR_FPS), self.jpeg_quality) for i in range(self.prerender)]

    async def start(self) -> None:
        if self.prerender:
            for cam in self.cameras.values():
                cam._loop_frames = await asyncio.to_thread(self._render, cam)
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("video simulator on http://%s:%s with %d cameras", self.host, self.port, len(self.cameras))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):  # open MJPEG streams and hung requests
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    # -- frames -------------------------------------------------------------------------------
    async def jpeg(self, cam: SimVideoCamera) -> bytes:
        """The camera's current picture as JPEG, encoded at most once per sensor tick."""
        t = time.monotonic() - self._t0
        index = int(t * SENSOR_FPS)
        if cam._loop_frames:
            return cam._loop_frames[index % len(cam._loop_frames)]
        async with cam._lock:
            if cam._cache[0] != index:
                scene, quality = cam.scene, self.jpeg_quality
                data = await asyncio.to_thread(lambda: encode_jpeg(scene.frame(t), quality))
                cam._cache = (index, data)
            return cam._cache[1]

    async def _body(self, cam: SimVideoCamera) -> bytes:
        if cam.fault == "garbage":
            return self._rng.randbytes(self._rng.randint(1, 4096))
        if cam.fault == "empty":
            return b""
        return await self.jpeg(cam)

    # -- HTTP ---------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            async with asyncio.timeout(_HEAD_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            await self._serve(head, writer)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the client went away or never sent a request: nothing to answer
        except asyncio.CancelledError:
            if self._server is not None and self._server.is_serving():
                raise
            # stop() cancelled this connection; ending quietly keeps asyncio's callback from logging it
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, head: bytes, writer: asyncio.StreamWriter) -> None:
        if len(head) > _MAX_HEAD:
            return await _respond(writer, 431, b"")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return await _respond(writer, 400, b"")
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        cam, kind = self._route(target)
        if method not in ("GET", "HEAD") or cam is None:
            return await _respond(writer, 404, b"not found\n")
        if self.auth is not None and not self.auth.check(method, headers.get("authorization")):
            return await _respond(writer, 401, b"", {"WWW-Authenticate": self.auth.challenge()})
        cam.requests += 1
        if cam.fault == "hang":
            await asyncio.sleep(3600)
        if cam.fault == "error":
            return await _respond(writer, 500, b"camera error\n")
        if cam.fault == "flood":
            return await self._flood(writer)
        if cam.fault == "stall" and kind == "snapshot":
            jpeg = await self.jpeg(cam)
            start = f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            writer.write(start.encode() + jpeg[: len(jpeg) // 2])
            await writer.drain()
            await asyncio.sleep(3600)
        if kind == "snapshot":
            return await _respond(writer, 200, await self._body(cam), {"Content-Type": "image/jpeg"})
        return await self._stream(cam, writer)

    def _route(self, target: str) -> tuple[SimVideoCamera | None, str]:
        path = target.split("?", 1)[0]
        if path.startswith("/snapshot/") and path.endswith(".jpg"):
            return self.cameras.get(path[len("/snapshot/") : -len(".jpg")]), "snapshot"
        if path.startswith("/mjpeg/"):
            return self.cameras.get(path[len("/mjpeg/") :]), "mjpeg"
        return None, ""

    async def _stream(self, cam: SimVideoCamera, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nCache-Control: no-cache\r\n"
            b"Content-Type: multipart/x-mixed-replace; boundary=" + _BOUNDARY.encode() + b"\r\n\r\n"
        )
        period = 1.0 / self.fps
        next_at = time.monotonic()
        frames = 0
        while True:
            if cam.fault == "stall" and frames >= 2:
                await asyncio.sleep(3600)  # mid-stream: the socket stays open, nothing more comes
            frames += 1
            body = await self._body(cam)
            writer.write(
                f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
                + b"\r\n"
            )
            await writer.drain()
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _flood(self, writer: asyncio.StreamWriter) -> None:
        """A camera gone mad: a 200 and then garbage for ever (the client must bound what it reads)."""
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: image/jpeg\r\n\r\n")
        while True:
            writer.write(self._rng.randbytes(_FLOOD_CHUNK))
            await writer.drain()
            await asyncio.sleep(_FLOOD_EVERY_S)


_REASONS: Final = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 431: "Too Large", 500: "Error"}


async def _respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()


class ThreadedVideoServer:
    """A VideoServer on its own event loop in a daemon thread: for session fixtures and sync code.

    set_mode and set_fault are single attribute writes, safe to call from any thread.
    """

    def __init__(self, server: VideoServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="video-sim", daemon=True)

    def __enter__(self) -> VideoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


async def _main(args: argparse.Namespace) -> None:
    auth = HttpAuth(args.username, args.password, args.auth) if args.auth != "none" else None
    server = VideoServer(args.host, args.port, fps=args.fps, auth=auth, prerender=args.prerender)
    for i in range(args.cameras):
        server.add_camera(f"cam-{i:03d}", args.mode, seed=i + 1)
    await server.start()
    print(f"READY {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m edge.sim.video_server --cameras 130`: cameras cam-000.. on one port; prints READY <port>."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cameras", type=int, default=4)
    p.add_argument("--mode", default="normal")
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--prerender", type=int, default=0, help="encode N frames per camera up front and loop them")
    p.add_argument("--auth", choices=("none", "basic", "digest"), default="none")
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="sim-pass")
    asyncio.run(_main(p.parse_args(argv)))


if __name__ == "__main__":
    main()
