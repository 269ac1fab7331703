"""Daemon footprint: RSS and idle CPU of `edge run` with 64 buttons (32 RS-485 + 32 MQTT) and 128 cameras.

    python bench/bench_footprint.py [--quick]

The cameras are the ONVIF simulator and the video simulator, each in its own process, so nothing of
theirs is counted; the buttons' simulators (pymodbus on a socat pair, paho clients beating every 10 s)
live in this process. After the start-up sweep has checked every camera's picture once, the daemon's
own /proc figures are read over an idle window: 30 s (quick: 10 s, and 32 cameras). The alarm core
(`edge run` alone) and the core with its camera worker child (DESIGN.md section 8) are figures of
their own. "Idle" is a quiet site, not a stopped one: polling, heartbeats and the periodic camera
checks go on. Bars (issue 13, DESIGN.md section 1): core RSS <= 60 MB, core + worker <= 150 MB, idle
CPU of both <= 2 % of one core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import print_rows
from tests.e2e.site import CAM_PASS, CAM_USER, Site

Row = dict[str, object]
RSS_BAR_MB = 150.0  # DESIGN.md section 1: the core and its camera worker together
CORE_RSS_BAR_MB = 60.0  # issue 13: the alarm core alone
QUICK_CAMERAS = 32
CPU_BAR_PCT = 2.0  # DESIGN.md section 1, of one core
CAMERAS = 128
SERIAL_UNITS, INPUTS_PER_UNIT = 16, 2  # 32 RS-485 buttons; the press contact and the tamper take 2 inputs each
MQTT_BUTTONS = 32
HEARTBEAT_S = 10.0  # a third of the 30 s heartbeat_timeout, like the demo's buttons
SETTLE_TIMEOUT_S = 180.0  # the first sweep decodes a frame of every camera; bounded by max_concurrent_decodes
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def cpu_ticks(pid: int, children: bool = True) -> int:
    total = 0
    for p in _tree(pid) if children else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total


def rss_mb(pid: int, children: bool = True) -> float:
    total = 0
    for p in _tree(pid) if children else [pid]:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total / 2**20


def _child(argv: list[str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as err:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)


def start_video(tmp: Path) -> tuple[subprocess.Popen[str], int]:
    proc = _child(
        [sys.executable, "-m", "edge.sim.video_server", "--cameras", str(CAMERAS + 1), "--prerender", "8"],
        tmp / "video.log",
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        _stop(proc)
        raise RuntimeError(f"video simulator did not start: {line!r}")
    return proc, int(line.split()[1])


def start_onvif(tmp: Path, video_port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = _child(
        [sys.executable, "-m", "edge.sim.onvif", "--cameras", str(CAMERAS),
         "--video-base", f"http://127.0.0.1:{video_port}", "--username", CAM_USER, "--password", CAM_PASS],
        tmp / "onvif.log",
    )  # fmt: skip
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    while len(urls) < CAMERAS:
        line = proc.stdout.readline()
        if not line:
            _stop(proc)
            raise RuntimeError("ONVIF simulator exited")
        cid, url = line.strip().split("\t")
        urls[cid] = url
    return proc, urls


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _heartbeats(site: Site, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        for b in site.buttons.values():
            b.heartbeat()


def settled(site: Site) -> bool:
    cams = [d for d in site.api("GET", "/devices").json() if d["type"] == "camera"]
    return len(cams) == CAMERAS and all(d["checks"].get("quality") for d in cams)


def measure(pid: int, window_s: float) -> tuple[float, float, float, float, float, float]:
    """(idle CPU % of one core, mean RSS MB, peak RSS MB, peak core-only RSS MB, peak worker-only RSS MB,
    worker-only idle CPU %) over the window. The worker is the core's child tree."""
    samples: list[float] = []
    core: list[float] = []
    worker: list[float] = []
    t0, c0, k0 = time.monotonic(), cpu_ticks(pid), cpu_ticks(pid, children=False)
    while time.monotonic() - t0 < window_s:
        samples.append(rss_mb(pid))
        core.append(rss_mb(pid, children=False))
        worker.append(samples[-1] - core[-1])
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    all_ticks, core_ticks = cpu_ticks(pid) - c0, cpu_ticks(pid, children=False) - k0
    cpu, worker_cpu = all_ticks / TICK / elapsed * 100, (all_ticks - core_ticks) / TICK / elapsed * 100
    return cpu, sum(samples) / len(samples), max(samples), max(core), max(worker), worker_cpu


def run(quick: bool = False, cameras: int | None = None) -> list[Row]:
    global CAMERAS  # noqa: PLW0603 - the simulators' size, set once per run before they start
    CAMERAS = cameras or (QUICK_CAMERAS if quick else CAMERAS)
    window = 10.0 if quick else 30.0
    serial = {
        f"s{u}-{i}": (u, 2 * i, 100 + u * INPUTS_PER_UNIT + i)
        for u in range(1, SERIAL_UNITS + 1)
        for i in range(INPUTS_PER_UNIT)
    }
    mqtt = {f"m{i}": 200 + i for i in range(MQTT_BUTTONS)}
    procs: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        stop = threading.Event()
        site = Site(tmp, serial, mqtt, aes=False)
        try:
            video, vport = start_video(tmp)
            procs.append(video)
            onvif, urls = start_onvif(tmp, vport)
            procs.append(onvif)
            site.start_peers()
            cams: list[dict[str, Any]] = [
                {"id": cid, "name": f"摄像机{cid}", "location": "校园", "onvif": url, "username": CAM_USER,
                 "password_file": str(tmp / "cam.pass")}
                for cid, url in urls.items()
            ]  # fmt: skip
            doc = site.config()
            doc["cameras"] = cams
            doc["checks"] = {"startup_delay": 1}  # everything else at its production default
            site.write_config(doc)
            site.start_daemon(log_level="warning")
            assert site.daemon is not None
            threading.Thread(target=_heartbeats, args=(site, stop), daemon=True).start()
            started = time.monotonic()
            while not settled(site) and time.monotonic() - started < SETTLE_TIMEOUT_S:
                time.sleep(1.0)
            settle_s = time.monotonic() - started
            cpu, rss_mean, rss_peak, core_peak, worker_peak, worker_cpu = measure(site.daemon.pid, window)
        finally:
            stop.set()
            site.stop()
            for p in procs:
                _stop(p)
    label = f"64 buttons + {CAMERAS} cameras"
    return [
        {"figure": f"alarm core RSS peak, idle {window:.0f} s ({label})", "value": round(core_peak, 1),
         "unit": "MB", "floor": CORE_RSS_BAR_MB, "floor_unit": "MB bar (issue 13)",
         "ratio": round(core_peak / CORE_RSS_BAR_MB, 2)},
        {"figure": f"core + camera worker RSS peak, idle {window:.0f} s ({label})", "value": round(rss_peak, 1),
         "unit": "MB",
         "floor": RSS_BAR_MB, "floor_unit": "MB bar (DESIGN 1)", "ratio": round(rss_peak / RSS_BAR_MB, 2)},
        {"figure": f"camera worker alone RSS peak ({label})", "value": round(worker_peak, 1), "unit": "MB",
         "floor": RSS_BAR_MB - CORE_RSS_BAR_MB, "floor_unit": "MB (150 bar minus the core's 60)",
         "ratio": round(worker_peak / (RSS_BAR_MB - CORE_RSS_BAR_MB), 2)},
        {"figure": f"camera worker alone idle CPU ({window:.0f} s window; its health rounds come once a minute)",
         "value": round(worker_cpu, 2),
         "unit": "% of a core", "floor": CPU_BAR_PCT, "floor_unit": "% bar (DESIGN 1, both together)",
         "ratio": round(worker_cpu / CPU_BAR_PCT, 2)},
        {"figure": "core + camera worker RSS mean over the idle window", "value": round(rss_mean, 1), "unit": "MB",
         "floor": RSS_BAR_MB, "floor_unit": "MB bar (DESIGN 1)", "ratio": round(rss_mean / RSS_BAR_MB, 2)},
        {"figure": f"core + camera worker idle CPU ({window:.0f} s window)", "value": round(cpu, 2),
         "unit": "% of a core",
         "floor": CPU_BAR_PCT, "floor_unit": "% bar (DESIGN 1)", "ratio": round(cpu / CPU_BAR_PCT, 2)},
        {"figure": "start-up until every camera's picture checked", "value": round(settle_s, 1), "unit": "s",
         "floor": SETTLE_TIMEOUT_S, "floor_unit": "s (bench's wait limit)",
         "ratio": round(settle_s / SETTLE_TIMEOUT_S, 2)},
    ]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=f"10 s idle window and {QUICK_CAMERAS} cameras")
    p.add_argument("--cameras", type=int, default=None, help=f"simulated cameras (default {CAMERAS})")
    args = p.parse_args()
    print_rows(run(args.quick, args.cameras))


if __name__ == "__main__":
    main()
