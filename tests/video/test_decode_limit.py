"""The decode bound holds under 20 concurrent grabs, and the timeout does not count the queue."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import numpy as np
import pytest

from edge.sim.video_server import VideoServer
from edge.video.grab import grab_frames, grab_then
from edge.video.limiter import DecodeLimiter
from edge.video.quality import assess


def _judge_slowly(frames: list[np.ndarray]) -> str:
    time.sleep(0.05)  # a JPEG decode alone is ~3 ms: hold the slot long enough for jobs to overlap
    return assess(frames).verdict


@pytest.mark.parametrize("kind", ["snapshot", "mjpeg"])
async def test_twenty_concurrent_grabs_respect_the_bound(video_server: VideoServer, kind: str) -> None:
    limiter = DecodeLimiter(3)
    urls = [video_server.url(f"many-{i}", kind) for i in range(20)]
    verdicts = await asyncio.gather(*(grab_then(u, _judge_slowly, count=1, timeout=5.0, limiter=limiter) for u in urls))
    assert verdicts == ["pass"] * 20
    assert limiter.peak == 3  # the bound was reached and never exceeded
    assert limiter.in_flight == 0


async def test_grab_frames_under_the_bound(video_server: VideoServer) -> None:
    limiter = DecodeLimiter(2)
    urls = [video_server.url(f"many-{i}", "mjpeg") for i in range(6)]
    results = await asyncio.gather(*(grab_frames(u, count=1, timeout=5.0, limiter=limiter) for u in urls))
    assert [f[0].shape for f in results] == [(360, 640, 3)] * 6
    # MJPEG parts are read off the loop now and only decoded in a slot: short jobs may not overlap.
    assert 1 <= limiter.peak <= 2


async def test_bound_holds_with_a_callers_executor(video_server: VideoServer) -> None:
    limiter = DecodeLimiter(2)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        urls = [video_server.url(f"many-{i}") for i in range(20)]
        await asyncio.gather(*(grab_frames(u, count=1, executor=pool, limiter=limiter) for u in urls))
    assert limiter.peak == 2


async def test_timeout_counts_from_the_slot_not_the_queue() -> None:
    limiter = DecodeLimiter(1)
    gate = threading.Event()

    def slow() -> str:
        gate.wait(2.0)
        return "first"

    first = asyncio.ensure_future(limiter.run(slow, budget=5.0))
    await asyncio.sleep(0.05)
    # Queued 0.3 s behind `slow`, then runs instantly: a 0.2 s budget must not expire in the queue.
    second = asyncio.ensure_future(limiter.run(lambda: "second", budget=0.2))
    await asyncio.sleep(0.3)
    gate.set()
    assert await first == "first"
    assert await second == "second"


async def test_budget_expires_while_running() -> None:
    limiter = DecodeLimiter(1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await limiter.run(lambda: time.sleep(0.5), budget=0.1)
    assert time.monotonic() - started < 0.4


def test_configure_rejects_zero() -> None:
    with pytest.raises(ValueError, match="limit"):
        DecodeLimiter(0)
