"""The camera storm of issue 13, shared by tests/faults/test_camera_storm.py and bench/bench_storm.py.

A site with MQTT buttons, a DC-09 receiver and simulated cameras runs `edge run` with fast camera
checks. First a quiet phase: presses one at a time (press, its PANIC at the receiver, release, its
restore), latency = the receiver's receive time - the instant before the publish. Then the storm, for
`storm_s`: the camera worker is killed with SIGSEGV every `kill_every_s` (the first kill at once), one
camera stalls mid-stream and another answers with endless garbage, while the same presses go on.
Throughout both phases a child process asks `/healthz` every 50 ms and keeps the slowest answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.sim.receiver import DemoReceiver
from tests.faults.cameras import CameraPeers, camera_spec
from tests.faults.site import Site

DELIVERY_TIMEOUT_S = 10.0  # a press not at the receiver by then counts as lost
HEALTHZ_EVERY_S = 0.05
HEALTHZ_TIMEOUT_S = 2.0  # a probe that fails counts as this slow
PRESS_GAP_S = 0.05
STORM_FAULTS = ("stall", "flood")  # given to the first cameras, in this order


def p99(values: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class StormFigures:
    quiet_ms: list[float] = field(default_factory=list)
    storm_ms: list[float] = field(default_factory=list)
    presses: int = 0
    lost: int = 0
    kills: int = 0
    healthz_max_ms: float = 0.0
    healthz_probes: int = 0

    @property
    def quiet_p99(self) -> float:
        return p99(self.quiet_ms)

    @property
    def storm_p99(self) -> float:
        return p99(self.storm_ms)


# The probe runs in its own process: the test's process also serves the simulated cameras and the
# receiver, and its GIL would otherwise be measured along with the daemon.
_PROBE = f"""
import signal, sys, time, httpx
stop = False
def end(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, end)
worst, probes = 0.0, 0
with httpx.Client(timeout={HEALTHZ_TIMEOUT_S}) as client:
    print("ready", flush=True)
    while not stop:
        t0 = time.perf_counter()
        try:
            ok = client.get(sys.argv[1]).status_code == 200
        except httpx.HTTPError:
            ok = False
        ms = (time.perf_counter() - t0) * 1000 if ok else {HEALTHZ_TIMEOUT_S * 1000}
        worst, probes = max(worst, ms), probes + 1
        time.sleep({HEALTHZ_EVERY_S})
print(worst, probes, flush=True)
"""


class HealthProbe:
    """/healthz every 50 ms from a child process; the slowest answer and the number of probes at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.max_ms = 0.0
        self.probes = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> HealthProbe:
        self._proc = subprocess.Popen([sys.executable, "-c", _PROBE, self.url], stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        assert self._proc.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        self._proc.terminate()
        out = self._proc.stdout.read().split()
        self._proc.wait()
        self.max_ms, self.probes = float(out[0]), int(out[1])


def worker_pids(core_pid: int) -> list[int]:
    """The core's children: the camera worker (the only child process of `edge run` here)."""
    out: list[int] = []
    for task in Path(f"/proc/{core_pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


async def _delivered(rx: DemoReceiver, start: int, zone: int, code: str) -> float | None:
    """The receive time (ms) of the first report for `zone` with `code` after index `start`, or None."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        for r in rx.reports[start:]:
            if r.zone == zone and r.code == code:
                return float(r.received_ms)
        await asyncio.sleep(0.001)
    return None


async def _one_press(site: Site, button: str, zone: int, figures: StormFigures) -> float | None:
    rx = site.receivers[0]
    start = len(rx.reports)
    t0 = time.time() * 1000
    await site.mqtt_press(button, release=False)
    at = await _delivered(rx, start, zone, "1120")
    figures.presses += 1
    if at is None:
        figures.lost += 1
    start = len(rx.reports)
    await asyncio.to_thread(site.mqtt[button].release)
    if await _delivered(rx, start, zone, "3120") is None:
        figures.lost += 1
    return None if at is None else at - t0


async def _killer(site: Site, every_s: float, figures: StormFigures) -> None:
    """Every `every_s`, SIGSEGV the worker; one still in its restart back-off is killed the moment it is back."""
    assert site.daemon is not None
    while True:
        while not (pids := worker_pids(site.daemon.pid)):
            await asyncio.sleep(0.1)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSEGV)
                figures.kills += 1
        await asyncio.sleep(every_s)


async def run_storm(
    tmp: Path, cameras: int = 4, quiet_presses: int = 100, storm_s: float = 25.0, kill_every_s: float = 10.0
) -> StormFigures:
    peers = await CameraPeers(tmp, [f"cam-{i + 1}" for i in range(cameras)], own_process=True).start()
    site = await Site(tmp, camera_spec(peers)).start()
    figures = StormFigures()
    buttons = [(b.id, b.zone) for b in site.buttons if b.transport == "mqtt"]
    try:
        await site.start_daemon()
        for cid in peers.ids:  # the worker is up and has judged every camera once: a quiet, working site
            await site.wait_device(cid, "online", timeout=60)
        with HealthProbe(f"{site.base}/healthz") as probe:
            for i in range(quiet_presses):
                ms = await _one_press(site, *buttons[i % len(buttons)], figures)
                if ms is not None:
                    figures.quiet_ms.append(ms)
                await asyncio.sleep(PRESS_GAP_S)
            for cid, fault in zip(peers.ids, STORM_FAULTS, strict=False):
                peers.video.set_fault(cid, fault)
            killer = asyncio.create_task(_killer(site, kill_every_s, figures))
            try:
                end, i = time.monotonic() + storm_s, 0
                while time.monotonic() < end:
                    ms = await _one_press(site, *buttons[i % len(buttons)], figures)
                    if ms is not None:
                        figures.storm_ms.append(ms)
                    i += 1
                    await asyncio.sleep(PRESS_GAP_S)
            finally:
                killer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await killer
        figures.healthz_max_ms, figures.healthz_probes = probe.max_ms, probe.probes
    finally:
        await site.stop()
        await peers.stop()
    return figures
