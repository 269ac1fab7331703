"""Many simulated ONVIF cameras in one asyncio process, one loopback port each.

A port per camera (not a path) because ONVIF clients (onvif-zeep-async, for one) build the device
service URL as http://HOST:PORT/onvif/device_service. A tiny HTTP/1.1 server with keep-alive keeps
128 cameras to a few MB; each listener can be closed and reopened to simulate a camera going offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from edge.sim.onvif.handler import Handler
from edge.sim.onvif.responses import DEVICE_PATH, Urls
from edge.sim.onvif.state import SimCamera
from edge.sim.video_auth import HttpAuth

log = logging.getLogger(__name__)

# Requests bigger than this are not ONVIF calls we serve; refuse rather than buffer them.
MAX_BODY = 1 << 20
# Header block limit, as common embedded web servers use.
MAX_HEADER_LINES = 100
# Garbage answers seen from real cameras: a truncated envelope (web server crash mid-write), an HTML
# error page, binary noise, XML that is not SOAP, and a SOAP body with nothing in it.
MALFORMED = {
    "truncated": b'<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><tds:',
    "html": b"<html><body><h1>500 Internal Server Error</h1></body></html>",
    "binary": bytes(range(256)) * 4,
    "wrong_root": b'<?xml version="1.0"?><config><device id="1"/></config>',
    "empty_body": b'<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body/></env:Envelope>',
}

# A hostile camera's 50 MB reply: an envelope that opens and never closes. Built on first use only.
HUGE_BYTES = 50 * 1024 * 1024


@functools.cache
def huge_body() -> bytes:
    head = b'<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
    return head + b"<x>" + b"A" * (HUGE_BYTES - len(head) - 3)


# How often a hung request looks whether its client left or the fault was cleared.
HANG_POLL_S = 0.5

CONTROL_PATH = "/sim/faults"

VideoModeHook = Callable[[str, str], None]


class OnvifSimulator:
    """Owns the cameras and their listeners. Change faults with `set_faults(id, **changes)`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        video_base: str = "http://127.0.0.1:8554",
        rtsp_base: str | None = None,
        on_video_mode: VideoModeHook | None = None,
        replay: Callable[[str], str] | None = None,
    ) -> None:
        self.host = host
        self.video_base = video_base.rstrip("/")
        self.rtsp_base = rtsp_base.rstrip("/") if rtsp_base else None
        self.cameras: dict[str, SimCamera] = {}
        self.recorders: dict[str, tuple[str, ...]] = {}  # NVR id -> ids of the cameras it records
        self._servers: dict[str, asyncio.Server] = {}
        self._conns: dict[str, set[asyncio.StreamWriter]] = {}
        self._on_video_mode = on_video_mode
        self.replay = replay  # recording token -> RTSP replay URI (edge.sim.recorder); None: no replay service
        self._handler = Handler(self.cameras.get)
        self._http_auths: dict[tuple[str, str], HttpAuth] = {}  # (camera, scheme) -> checker with its nonces
        self._stopping = asyncio.Event()

    async def add(self, cam: SimCamera, port: int = 0, records: tuple[str, ...] = ()) -> SimCamera:
        """Serve `cam`; `records` makes it an NVR holding those cameras' recordings."""
        self.cameras[cam.id] = cam
        self.recorders[cam.id] = records
        cam.port = port
        await self._listen(cam)  # also for a camera added offline: it keeps its port for when it comes back
        if cam.faults.offline == "refused":
            await self._close(cam.id)
        return cam

    def url(self, cam_id: str) -> str:
        return f"http://{self.host}:{self.cameras[cam_id].port}{DEVICE_PATH}"

    def urls(self, cam: SimCamera) -> Urls:
        stream = f"{self.rtsp_base}/{cam.id}" if self.rtsp_base else f"{self.video_base}/mjpeg/{cam.id}"
        base = f"http://{self.host}:{cam.port}"
        replay = self.replay if self.recorders.get(cam.id) else None  # only an NVR replays
        return Urls(base, f"{self.video_base}/snapshot/{cam.id}.jpg", stream, replay)

    async def set_faults(self, cam_id: str, **changes: Any) -> None:
        cam = self.cameras[cam_id]
        cam.faults.update(changes)
        if "video_mode" in changes and self._on_video_mode is not None:
            self._on_video_mode(cam_id, cam.faults.video_mode)
        if cam.faults.offline == "refused":
            await self._close(cam_id)
        elif cam_id not in self._servers:
            await self._listen(cam)
        if cam.faults.offline == "closed":
            for w in list(self._conns.get(cam_id, ())):
                w.close()

    async def _listen(self, cam: SimCamera) -> None:
        server = await asyncio.start_server(
            lambda r, w: self._serve(cam, r, w), self.host, cam.port or 0, reuse_address=True
        )
        cam.port = server.sockets[0].getsockname()[1]
        self._servers[cam.id] = server

    async def _close(self, cam_id: str) -> None:
        server = self._servers.pop(cam_id, None)
        if server is not None:
            server.close()
        for w in list(self._conns.pop(cam_id, ())):
            w.close()
        if server is not None:
            await server.wait_closed()

    async def close(self) -> None:
        self._stopping.set()
        for cam_id in list(self._servers):
            await self._close(cam_id)

    async def _serve(self, cam: SimCamera, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns = self._conns.setdefault(cam.id, set())
        conns.add(writer)
        try:
            while not self._stopping.is_set():
                req = await _read_request(reader)
                if req is None or cam.faults.offline is not None:
                    return
                method, path, body, authorization = req
                control = path == CONTROL_PATH  # the control endpoint works whatever faults are on
                if cam.faults.hang and not control:
                    await self._hang(cam, reader)
                    return
                if cam.faults.delay_s > 0 and not control:
                    await asyncio.sleep(cam.faults.delay_s)
                challenge = self._http_challenge(cam, method, path, authorization)
                if challenge:
                    status, ctype, payload = 401, "text/plain", b"HTTP authentication required"
                else:
                    status, ctype, payload = self._respond(cam, method, path, body)
                extra = f"WWW-Authenticate: {challenge}\r\n" if challenge else ""
                head = f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n{extra}\r\n"
                writer.write(head.encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            log.debug("sim camera %s: connection ended: %s", cam.id, exc)
        finally:
            conns.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _hang(self, cam: SimCamera, reader: asyncio.StreamReader) -> None:
        """Never answer; give up when the client hangs up, the fault clears, or the simulator stops."""
        while cam.faults.hang and not self._stopping.is_set():
            try:
                async with asyncio.timeout(HANG_POLL_S):
                    if not await reader.read(1):
                        return
            except TimeoutError:
                continue

    def _http_challenge(self, cam: SimCamera, method: str, path: str, authorization: str | None) -> str:
        """The WWW-Authenticate to answer with when the camera demands HTTP auth and did not get it ("" = fine)."""
        scheme = cam.faults.http_auth
        if not scheme or path == CONTROL_PATH:
            return ""
        checker = self._http_auths.get((cam.id, scheme))
        if checker is None:
            checker = self._http_auths[(cam.id, scheme)] = HttpAuth(cam.username, cam.password, scheme)
        if checker.check(method, authorization) and not cam.faults.wrong_password:
            return ""
        return checker.challenge()

    def _respond(self, cam: SimCamera, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path == CONTROL_PATH:
            return self._control(cam, method, body)
        if method != "POST":
            return 405, "text/plain", b"POST only"
        if cam.faults.malformed:
            kind = cam.faults.malformed
            body = huge_body() if kind == "huge" else MALFORMED[kind]
            return 200, "application/soap+xml; charset=utf-8", body
        status, payload = self._handler.handle(cam, path, self.urls(cam), self.recorders.get(cam.id, ()), body)
        ctype = "application/soap+xml; charset=utf-8" if payload.startswith(b"<?xml") else "text/plain"
        return status, ctype, payload

    def _control(self, cam: SimCamera, method: str, body: bytes) -> tuple[int, str, bytes]:
        """GET shows a camera's faults; POST {"hang": true, ...} changes them (offline excluded: use the API)."""
        if method == "POST":
            try:
                changes = json.loads(body)
                if not isinstance(changes, dict) or "offline" in changes:
                    raise ValueError("a JSON object without 'offline'")
                cam.faults.update(changes)
            except (ValueError, KeyError) as exc:
                return 400, "text/plain", str(exc).encode()
            if "video_mode" in changes and self._on_video_mode is not None:
                self._on_video_mode(cam.id, cam.faults.video_mode)
        return 200, "application/json", json.dumps(cam.faults.as_dict()).encode()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes, str | None] | None:
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        raise ValueError("bad request line")
    length = 0
    authorization = None
    for _ in range(MAX_HEADER_LINES):
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "authorization":
            authorization = value.strip()
    else:
        raise ValueError("too many headers")
    if not 0 <= length <= MAX_BODY:
        raise ValueError("body too large")
    body = await reader.readexactly(length)
    return parts[0], parts[1].split("?", 1)[0], body, authorization
