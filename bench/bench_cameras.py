"""Full health + quality sweep of 128 simulated cameras, against the floor of bare round trips and decodes.

    python bench/bench_cameras.py [--quick]

Sweep: for every camera, one full ONVIF health round (6 SOAP calls through our client, edge/onvif/session.py) then one
quality check (2 frames from its MJPEG stream, assessed, thumbnail encoded), at the driver's
concurrency bound (checks.max_concurrent_checks) and decode bound (checks.max_concurrent_decodes).
Floor: the same number of bare SOAP round trips (httpx POST of GetSystemDateAndTime, 6 per camera)
and of frame decodes (snapshot JPEG fetched and decoded) at the same concurrency, with nothing else,
plus the wait the frozen check needs by definition: two frames FROZEN_GAP_S apart hold a decode slot,
so n cameras cost at least n * gap / max_concurrent_decodes seconds whatever the implementation.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import httpx
import numpy as np

from bench.common import print_rows, row
from edge.config import Camera, Checks
from edge.onvif.camera import FROZEN_GAP_S, CameraChecker
from edge.onvif.session import OnvifSession
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import SimCamera
from edge.sim.video_server import VideoServer
from edge.video.limiter import DECODES

PASSWORD = "bench-pass"
CALLS_PER_HEALTH = 6  # a full round: GetSystemDateAndTime, GetDeviceInformation, GetServices, GetProfiles, 2 URIs
SDT = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


async def _bounded(n: int, limit: int, fn: Any) -> None:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> None:
        async with sem:
            await fn(i)

    await asyncio.gather(*(one(i) for i in range(n)))


async def _floor(urls: dict[str, str], video_port: int, ids: list[str], checks: Checks) -> tuple[float, float]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=checks.max_concurrent_checks)) as client:

        async def soap(i: int) -> None:
            for _ in range(CALLS_PER_HEALTH):
                r = await client.post(urls[ids[i]], content=SDT, headers={"Content-Type": "application/soap+xml"})
                r.raise_for_status()

        async def decode(i: int) -> None:
            for _ in range(2):
                data = (await client.get(f"http://127.0.0.1:{video_port}/snapshot/{ids[i]}.jpg")).content
                frame = await asyncio.to_thread(cv2.imdecode, np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                assert frame is not None

        t0, c0 = time.perf_counter(), _cpu()
        await _bounded(len(ids), checks.max_concurrent_checks, soap)
        await _bounded(len(ids), checks.max_concurrent_decodes, decode)
        gap_wait = len(ids) * FROZEN_GAP_S / checks.max_concurrent_decodes
        return time.perf_counter() - t0 + gap_wait, _cpu() - c0


async def _sweep(checkers: list[CameraChecker], checks: Checks) -> tuple[float, float, dict[str, int]]:
    verdicts: dict[str, int] = {}

    async def one(i: int) -> None:
        ch = checkers[i]
        ch._rounds = 0  # every sweep measures a full health round, not the light ones in between
        res, _ = await ch.health()
        out = await ch.quality()
        failures = ",".join(out.payload.get("failures", [])) or out.payload.get("error", "")
        key = f"{res.state}/{out.payload['verdict']}" + (f"({failures})" if failures else "")
        verdicts[key] = verdicts.get(key, 0) + 1

    t0, c0 = time.perf_counter(), _cpu()
    await _bounded(len(checkers), checks.max_concurrent_checks, one)
    return time.perf_counter() - t0, _cpu() - c0, verdicts


def _peers(n: int, conn: Any) -> None:
    """Child process: the simulated cameras, so their memory and CPU are not counted as ours."""

    async def serve() -> None:
        video = VideoServer(fps=5.0)
        ids = [f"cam-{i:03d}" for i in range(n)]
        for cid in ids:
            video.add_camera(cid)
        await video.start()
        sim = OnvifSimulator(video_base=f"http://127.0.0.1:{video.port}")
        for cid in ids:
            await sim.add(SimCamera(cid, "admin", PASSWORD))
        conn.send((video.port, {cid: sim.url(cid) for cid in ids}))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until the parent is done
        await sim.close()
        await video.stop()

    asyncio.run(serve())


async def _main(quick: bool) -> list[dict[str, object]]:
    n = 32 if quick else 128
    checks = Checks(call_timeout=5.0, frame_timeout=10.0)
    DECODES.configure(checks.max_concurrent_decodes)
    parent, child = multiprocessing.Pipe()
    peers = multiprocessing.get_context("spawn").Process(target=_peers, args=(n, child), daemon=True)
    peers.start()
    try:
        video_port, urls = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        ids = sorted(urls)
        rss0 = _rss_mb()
        floor_wall, floor_cpu = await _floor(urls, video_port, ids, checks)
        checkers = [
            CameraChecker(
                Camera(id=cid, name=cid, onvif=urls[cid]),
                checks,
                OnvifSession(urls[cid], "admin", PASSWORD, f"onvif:{cid}", checks.call_timeout),
                _password=PASSWORD,
            )
            for cid in ids
        ]
        first_wall, first_cpu, _ = await _sweep(checkers, checks)  # builds clients, loads WSDLs
        gc.collect()
        wall, cpu, verdicts = await _sweep(checkers, checks)  # the steady-state round
        peak = _peak_rss_mb()
        for ch in checkers:
            await ch.close()
    finally:
        parent.send("stop")
        peers.join(10)
    print(f"verdicts: {verdicts}")
    return [
        row(f"sweep wall ({n} cameras, steady)", wall, "s", floor_wall, "s"),
        row(f"sweep CPU ({n} cameras, steady)", cpu, "s", floor_cpu, "s"),
        row(f"first sweep wall ({n} cameras, cold)", first_wall, "s", floor_wall, "s"),
        row(f"first sweep CPU ({n} cameras, cold)", first_cpu, "s", floor_cpu, "s"),
        row("peak RSS (client process)", peak, "MB", rss0, "MB after imports"),
    ]


def run(quick: bool = False) -> list[dict[str, object]]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_main(quick))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="32 cameras instead of 128")
    print_rows(run(p.parse_args().quick))


if __name__ == "__main__":
    main()
