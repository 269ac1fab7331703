"""The MJPEG/snapshot camera simulator in a process of its own, for fault tests that time the alarm path.

In the test's process its endless garbage and stalled streams would compete with the DC-09 receiver and
the MQTT publisher whose timestamps the test reads, so the test would measure itself.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from edge.sim.video_server import VideoServer

START_TIMEOUT_S = 20.0


def _serve(conn: Connection, fps: float, ids: list[str]) -> None:
    loop = asyncio.new_event_loop()
    server = VideoServer(fps=fps)
    for cid in ids:
        server.add_camera(cid)
    loop.run_until_complete(server.start())
    conn.send(server.port)

    def commands() -> None:
        # set_mode / set_fault are single attribute writes: safe from this thread.
        while True:
            try:
                cmd, args, kwargs = conn.recv()
            except EOFError:
                break
            if cmd == "stop":
                break
            getattr(server, cmd)(*args, **kwargs)
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=commands, daemon=True).start()
    loop.run_forever()
    loop.run_until_complete(server.stop())


class VideoProcess:
    """The subset of VideoServer that CameraPeers uses, forwarded to the child process."""

    def __init__(self, ids: list[str], fps: float = 5.0) -> None:
        self._conn, child = multiprocessing.get_context("spawn").Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child, fps, ids), name="video-sim", daemon=True
        )
        self.port = 0

    async def start(self) -> None:
        self._proc.start()
        if not await asyncio.to_thread(self._conn.poll, START_TIMEOUT_S):
            raise RuntimeError("the video simulator process did not start")
        self.port = int(self._conn.recv())

    def _send(self, cmd: str, *args: Any, **kwargs: Any) -> None:
        self._conn.send((cmd, args, kwargs))

    def set_fault(self, cam_id: str, fault: str | None) -> None:
        self._send("set_fault", cam_id, fault)

    def set_mode(self, cam_id: str, mode: str, **scene_kw: float) -> None:
        self._send("set_mode", cam_id, mode, **scene_kw)

    async def stop(self) -> None:
        if self._proc.is_alive():
            self._send("stop")
            await asyncio.to_thread(self._proc.join, 10)
        if self._proc.is_alive():
            self._proc.kill()
            await asyncio.to_thread(self._proc.join, 5)
