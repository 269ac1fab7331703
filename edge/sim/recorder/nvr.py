"""SimRecorder: the simulated NVR's recording half and its RTSP replay server in one object.

`record(token, source_url)` starts recording a camera's live stream as recording `token`;
`replay_url(token)` is what the NVR's ONVIF Replay service answers to GetReplayUri (see
edge/sim/onvif: an OnvifSimulator given `replay=` serves it). Runs in the caller's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib

from edge.sim.recorder.capture import Capture
from edge.sim.recorder.ring import SegmentRing
from edge.sim.recorder.rtsp import HOSTILE, ReplayServer


class SimRecorder:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, segment_s: float = 2.0, keep_s: float = 120.0) -> None:
        self.rings: dict[str, SegmentRing] = {}
        self.captures: dict[str, Capture] = {}
        self.replay = ReplayServer(self.rings.get, host, port)
        self.segment_s = segment_s
        self.keep_s = keep_s
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.replay.start()

    def record(self, token: str, source: str) -> SegmentRing:
        ring = self.rings[token] = SegmentRing(self.segment_s, self.keep_s)
        cap = self.captures[token] = Capture(source, ring)
        self._tasks.append(asyncio.create_task(cap.run(), name=f"sim-nvr:{token}"))
        return ring

    def replay_url(self, token: str) -> str:
        return self.replay.url(token)

    def set_mode(self, mode: str) -> None:
        """A hostile replay server for tests: one of edge.sim.recorder.rtsp.HOSTILE."""
        if mode not in HOSTILE:
            raise ValueError(f"mode must be one of {HOSTILE}")
        self.replay.mode = mode

    async def wait_recorded(self, token: str, seconds: float, within: float = 30.0) -> None:
        """Until `seconds` of flushed video of `token` are replayable (TimeoutError after `within`)."""
        async with asyncio.timeout(within):
            while True:
                span = self.rings[token].span()
                if span is not None and span[1] - span[0] >= seconds:
                    return
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.replay.close()
