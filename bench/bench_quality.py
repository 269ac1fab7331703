"""Quality sweep over N simulated cameras vs the floor of bare JPEG decodes at the same concurrency.

    python bench/bench_quality.py [--quick] [--cameras N] [--decodes K]

The video simulator runs in its own process (so its JPEG encoding is not charged to us). Figures:
- snapshot sweep: check_quality (2 snapshots per camera, grab + decode + assess + thumbnail) over all
  cameras at once, K concurrent decodes; floor: the worker's own JPEG decode (Pillow) of the same
  2 x N JPEGs on K threads.
- MJPEG sweep: the same over each camera's MJPEG stream (our multipart reader + 2 frames).
- RTSP sweep: the same over H.264 RTSP (GStreamer's RTSP server, 4 streams, in its own process), each
  grab a GStreamer grab process of ours whose CPU is counted (children's rusage).
- CPU seconds for each (this process, and its grab processes for RTSP), and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_rows
from bench.common import row as common_row
from edge.sim.rtsp_server import RtspServer
from edge.video.check import check_quality
from edge.video.jpeg import decode
from edge.video.limiter import DecodeLimiter

# Frames of one check are taken this far apart: one sensor tick of the simulator, so the two
# snapshots differ, without charging the benchmark the production 2 s wait.
INTERVAL = 0.1


def _start_server(cameras: int) -> tuple[subprocess.Popen[bytes], int]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.sim.video_server", "--cameras", str(cameras), "--fps", "5", "--prerender", "4"],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().split()
    if len(line) != 2 or line[0] != "READY":
        proc.kill()
        raise RuntimeError(f"video simulator did not start: {line}")
    return proc, int(line[1])


async def _fetch_all(urls: list[str]) -> list[bytes]:
    async with httpx.AsyncClient() as client:
        out = []
        for _ in range(2):
            responses = await asyncio.gather(*(client.get(u) for u in urls))
            out += [r.content for r in responses]
        return out


def _floor(jpegs: list[bytes], decodes: int) -> tuple[float, float]:
    def dec(b: bytes) -> None:
        assert decode(b).ndim == 3

    cpu, wall = time.process_time(), time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(decodes) as pool:
        list(pool.map(dec, jpegs))
    return time.perf_counter() - wall, time.process_time() - cpu


def _cpu_with_children() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


async def _sweep(urls: list[str], decodes: int, snapshot: bool) -> tuple[float, float, int]:
    limiter = DecodeLimiter(decodes)
    cpu, wall = _cpu_with_children(), time.perf_counter()
    checks = await asyncio.gather(
        *(check_quality(u, interval=INTERVAL, timeout=30.0, snapshot=snapshot, limiter=limiter) for u in urls),
        return_exceptions=True,
    )
    wall_s, cpu_s = time.perf_counter() - wall, _cpu_with_children() - cpu
    failed = sum(1 for c in checks if isinstance(c, BaseException))
    if failed:
        print(f"  {failed} checks failed: {next(c for c in checks if isinstance(c, BaseException))!r}")
    return wall_s, cpu_s, failed


def run(quick: bool = False, cameras: int | None = None, decodes: int = 4) -> list[dict[str, object]]:
    n = cameras or (16 if quick else 128)
    proc, port = _start_server(n)
    try:
        snaps = [f"http://127.0.0.1:{port}/snapshot/cam-{i:03d}.jpg" for i in range(n)]
        streams = [f"http://127.0.0.1:{port}/mjpeg/cam-{i:03d}" for i in range(n)]
        jpegs = asyncio.run(_fetch_all(snaps))
        floor_wall, floor_cpu = _floor(jpegs, decodes)
        snap_wall, snap_cpu, snap_failed = asyncio.run(_sweep(snaps, decodes, snapshot=True))
        mjpeg_wall, mjpeg_cpu, mjpeg_failed = asyncio.run(_sweep(streams, decodes, snapshot=False))
    finally:
        proc.terminate()
        proc.wait(10)
    with RtspServer({f"s{i}": ("checkers-8", 3, "h264", 0.0) for i in range(4)}) as rtsp:
        rtsp_urls = [rtsp.url(f"s{i % 4}") for i in range(n)]
        rtsp_wall, rtsp_cpu, rtsp_failed = asyncio.run(_sweep(rtsp_urls, decodes, snapshot=False))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    label = f"{n} cameras, {decodes} decodes"

    def row(figure: str, value: float, unit: str, floor: float, floor_unit: str) -> dict[str, object]:
        return common_row(f"{figure} ({label})", value, unit, floor, floor_unit)

    return [
        row("snapshot sweep wall", snap_wall, "s", floor_wall, "s bare JPEG decode x2N"),
        row("snapshot sweep CPU", snap_cpu, "s", floor_cpu, "s bare JPEG decode x2N"),
        row("MJPEG sweep wall", mjpeg_wall, "s", floor_wall, "s bare JPEG decode x2N"),
        row("MJPEG sweep CPU", mjpeg_cpu, "s", floor_cpu, "s bare JPEG decode x2N"),
        row("RTSP sweep wall", rtsp_wall, "s", floor_wall, "s bare JPEG decode x2N"),
        row("RTSP sweep CPU, grab processes included", rtsp_cpu, "s", floor_cpu, "s bare JPEG decode x2N"),
        row(
            "RTSP CPU per camera check", rtsp_cpu / n, "s", 0.02 * 900 / 128, "s (2 % of a core / 128 cameras / 15 min)"
        ),
        row("failed checks", snap_failed + mjpeg_failed + rtsp_failed, "checks", 0, "checks"),
        row("peak RSS of the bench process", rss_mb, "MB", 150, "MB budget (DESIGN 1)"),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="16 cameras instead of 128")
    p.add_argument("--cameras", type=int)
    p.add_argument("--decodes", type=int, default=4, help="checks.max_concurrent_decodes")
    args = p.parse_args()
    print_rows(run(args.quick, args.cameras, args.decodes))


if __name__ == "__main__":
    main()
