"""Rule engine and runtime cost on the footprint site of DESIGN.md section 1 (64 buttons, 128 cameras).

python bench/bench_rules.py [--quick]

Figures (ratio >= 1 means the bar is met):
- engine throughput: pure `on_event` calls per second; floor 2,000/s (a whole site rarely sends 10/s).
- press commit p99: `Runtime.emit(alarm.press)` with the store (event, alarm, outbox, state, fsync);
  floor 100 ms, a fifth of the 500 ms press -> police ACK budget.
- idle tick: one `Runtime.tick()` with nothing due; floor 5 ms (0.5 % of a core at 1 tick/s, against
  the 2 % idle CPU bar).
- engine state: the whole state as JSON (held in memory; only changed rows are written per event);
  floor 1 MiB, a small share of the 150 MB RSS budget.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.config import parse_config
from edge.core.registry import engine_from_config
from edge.events import Event, EventKind
from edge.hub import Hub
from edge.inventory import config_devices
from edge.rules.state import EngineState
from edge.runtime import Runtime
from edge.store import Database
from edge.store.alarms import close, list_alarms
from edge.store.devices import sync_devices

BUTTONS, CAMERAS = 64, 128


def site_yaml(db_path: Path) -> str:
    lines = [
        "site: {id: bench}",
        f"storage: {{path: {db_path}}}",
        'api: {listen: "127.0.0.1:8080"}',
        "mqtt: {}",
        'police: {account: "1234", receivers: ["dc09://127.0.0.1:12000"]}',
        "buttons:",
    ]
    lines += [f"  - {{id: b{i}, name: 按钮{i}, zone: {i + 1}, transport: mqtt}}" for i in range(BUTTONS)]
    lines.append("cameras:")
    lines += [f"  - {{id: c{i}, name: 摄像机{i}, onvif: 'http://127.0.0.1/onvif'}}" for i in range(CAMERAS)]
    return "\n".join(lines) + "\n"


def background(i: int, ts: int) -> Event:
    """A realistic mix: camera checks (some failing), heartbeats coming and going, some presses."""
    r = i % 10
    if r < 5:
        verdict = "fail" if i % 7 == 0 else "pass"
        return Event(EventKind.CAMERA_QUALITY, f"c{i % CAMERAS}", {"verdict": verdict, "failures": ["blurred"]}, ts)
    if r < 7:
        return Event(EventKind.CAMERA_RETENTION, f"c{i % CAMERAS}", {"verdict": "short" if i % 3 else "pass"}, ts)
    if r < 9:
        kind = EventKind.DEVICE_OFFLINE if i % 4 == 0 else EventKind.DEVICE_ONLINE
        return Event(kind, f"b{i % BUTTONS}", {"reason": "heartbeat_timeout"}, ts)
    return Event(EventKind.ALARM_PRESS if i % 2 else EventKind.ALARM_RELEASE, f"b{i % BUTTONS}", {}, ts)


def bench_engine(n: int, config: Any) -> float:
    engine = engine_from_config(config)
    state, t = EngineState(), 1_800_000_000_000
    started = time.perf_counter()
    for i in range(n):
        t += 50
        state, _ = engine.on_event(state, background(i, t), t)
        if i % 20 == 0:
            state, _ = engine.tick(state, t)
        if i % 200 == 0:  # the duty operator closes the panic alarms (flags close with their devices)
            state = engine.sync_alarms(state, {k: "open" for k, a in state.alarms.items() if a.category != "alarm"})
    return n / (time.perf_counter() - started)


async def bench_runtime(presses: int, tmp: Path) -> tuple[float, float, float]:
    config = parse_config(site_yaml(tmp / "edge.db"), "bench.yaml")
    db = Database(tmp / "edge.db")
    sync_devices(db, config_devices(config))
    rt = Runtime(config, db, Hub())
    for i in range(2000):  # populate: degraded cameras, offline buttons, open flags
        await rt.emit(background(i, rt.clock()))
    for alarm in list_alarms(db, state="open", category="alarm", limit=10_000):
        close(db, alarm["id"], "bench", "reset")
    latencies = []
    for i in range(presses):
        started = time.perf_counter()
        await rt.emit(Event(EventKind.ALARM_PRESS, f"b{i % BUTTONS}", {}))
        latencies.append((time.perf_counter() - started) * 1000)
    for alarm in list_alarms(db, state="open", category="alarm", limit=10_000):
        close(db, alarm["id"], "bench", "reset")
    rt.tick()
    ticks = []
    for _ in range(50):
        started = time.perf_counter()
        rt.tick()
        ticks.append((time.perf_counter() - started) * 1000)
    size = len(json.dumps(rt.state.to_json())) / 1024
    db.close()
    p99 = statistics.quantiles(latencies, n=100)[98]
    return p99, statistics.median(ticks), size


def run(quick: bool = False) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(site_yaml(Path(tmp) / "edge.db"), "bench.yaml")
        rate = bench_engine(5_000 if quick else 50_000, config)
        p99, tick_ms, size_kib = asyncio.run(bench_runtime(50 if quick else 300, Path(tmp)))
    return [
        {
            "figure": "engine on_event throughput",
            "value": rate,
            "unit": "events/s",
            "floor": 2000.0,
            "floor_unit": "events/s",
            "ratio": rate / 2000.0,
        },
        {
            "figure": "press commit p99 (event+alarm+outbox+state)",
            "value": p99,
            "unit": "ms",
            "floor": 100.0,
            "floor_unit": "ms",
            "ratio": 100.0 / p99,
        },
        {
            "figure": "idle tick",
            "value": tick_ms,
            "unit": "ms",
            "floor": 5.0,
            "floor_unit": "ms",
            "ratio": 5.0 / tick_ms,
        },
        {
            "figure": "engine state size",
            "value": size_kib,
            "unit": "KiB",
            "floor": 1024.0,
            "floor_unit": "KiB",
            "ratio": 1024.0 / size_kib,
        },
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['figure']}: {row['value']:.3g} {row['unit']} (floor {row['floor']} {row['floor_unit']}, "
            f"ratio {row['ratio']:.2f})"
        )
