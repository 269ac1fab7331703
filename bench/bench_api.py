"""Status API on a full-size site (64 buttons, 128 cameras): request latency and live-stream delay.

python bench/bench_api.py [--quick]

Figures:
- GET /api/v1/status and /api/v1/devices p50/p99, against the floor of GET /healthz on the same
  server (one HTTP round trip and a `SELECT 1`): what the duty screen pays beyond plain HTTP.
- Runtime.emit() call (commit included) -> SSE client delay p99, against the issue's bar of 1 s.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvicorn

from edge.api.app import create_app
from edge.api.state import AppState
from edge.api.tokens import Role, create_token
from edge.config import parse_config
from edge.events import Event, EventKind, now_ms
from edge.hub import Hub
from edge.inventory import config_devices
from edge.runtime import Runtime
from edge.store import Database
from edge.store.devices import set_state, sync_devices
from edge.store.misc import put_check

BUTTONS, CAMERAS = 64, 128  # the footprint target in DESIGN.md section 1
STREAM_BAR_MS = 1000.0  # issue 7: every change on /stream within 1 s of its commit


def _config(tmp: Path) -> str:
    lines = [
        "site: {id: bench, name: 基准学校}",
        f"storage: {{path: {tmp}/edge.db}}",
        f"api: {{tokens_file: {tmp}/tokens.yaml}}",
        'mqtt: {url: "mqtt://127.0.0.1:1883"}',
        "buttons:",
    ]
    lines += [
        f"  - {{id: b{i}, name: 按钮{i}, location: 楼{i % 16}, zone: {i + 1}, transport: mqtt}}" for i in range(BUTTONS)
    ]
    lines.append("cameras:")
    lines += [
        f'  - {{id: c{i}, name: 摄像机{i}, location: 楼{i % 16}, onvif: "http://127.0.0.1:1/onvif/device_service"}}'
        for i in range(CAMERAS)
    ]
    return "\n".join(lines) + "\n"


def _site(tmp: Path) -> tuple[AppState, str]:
    config = parse_config(_config(tmp), "bench.yaml")
    db = Database(config.storage.path)
    sync_devices(db, config_devices(config))
    now = now_ms()
    with db.tx() as conn:
        for i in range(CAMERAS):
            set_state(conn, f"c{i}", "online", [], now, now)
            put_check(conn, f"c{i}", "retention", "pass", {"retained_days": 31.0, "required_days": 30}, now)
            put_check(conn, f"c{i}", "quality", "pass", {"failures": []}, now)
            put_check(conn, f"c{i}", "clock", "pass", {"drift_s": 0.2}, now)
    assert config.api.tokens_file is not None
    token = create_token(config.api.tokens_file, "bench", Role.VIEWER)
    return AppState(config, db, Hub()), token


class _Server:
    def __init__(self, state: AppState) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets TCP_NODELAY
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        cfg = uvicorn.Config(create_app(state), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(cfg)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def _run(self) -> None:
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(http: httpx.Client, path: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        http.get(path, headers=headers).raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _stream_delays(srv: _Server, state: AppState, token: str, n: int) -> list[float]:
    runtime = Runtime(state.config, state.db, state.hub)
    delays: list[float] = []
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=srv.url, timeout=10) as http, http.stream("GET", "/api/v1/stream", headers=auth) as r:
        lines = r.iter_lines()
        for i in range(n):
            event = Event(kind=EventKind.DEVICE_ONLINE, device_id=f"b{i % BUTTONS}", payload={})
            committed = time.perf_counter()  # emit() returns after the commit; count from the call
            asyncio.run_coroutine_threadsafe(runtime.emit(event), srv.loop).result(5)
            for line in lines:
                if line.startswith("data:") and event.id in line and json.loads(line[5:])["type"] == "event":
                    delays.append((time.perf_counter() - committed) * 1000)
                    break
    return delays


def run(quick: bool = False) -> list[dict[str, object]]:
    n = 50 if quick else 300
    with tempfile.TemporaryDirectory() as tmp:
        state, token = _site(Path(tmp))
        srv = _Server(state)
        try:
            h = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=srv.url, timeout=10) as http:
                _timed(http, "/api/v1/status", h, 5)  # warm-up: token cache, imports
                floor = _timed(http, "/healthz", {}, n)
                status = _timed(http, "/api/v1/status", h, n)
                devices = _timed(http, "/api/v1/devices", h, n)
            delays = _stream_delays(srv, state, token, n // 2)
        finally:
            srv.stop()
            state.db.close()
    rows: list[dict[str, object]] = []
    base = statistics.median(floor)
    for name, values in (("GET /status", status), ("GET /devices", devices)):
        for label, q in (("p50", 0.5), ("p99", 0.99)):
            v = pct(values, q)
            rows.append(
                {
                    "figure": f"{name} {label}, {BUTTONS} buttons + {CAMERAS} cameras",
                    "value": round(v, 2),
                    "unit": "ms",
                    "floor": round(base, 2),
                    "floor_unit": "ms (GET /healthz p50, same server)",
                    "ratio": round(v / base, 1),
                }
            )
    p99 = pct(delays, 0.99)
    rows.append(
        {
            "figure": "Runtime.emit() call -> /stream client p99",
            "value": round(p99, 2),
            "unit": "ms",
            "floor": STREAM_BAR_MS,
            "floor_unit": "ms (issue 7 bar)",
            "ratio": round(p99 / STREAM_BAR_MS, 3),
        }
    )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['figure']:<48} {row['value']:>9} {row['unit']}   floor {row['floor']:>8} {row['floor_unit']}"
            f"   ratio {row['ratio']}x"
        )
