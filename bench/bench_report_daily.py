"""How long `edge report daily` takes on the largest site we size for, with weeks of history in the store.

Site: 64 buttons, 128 cameras (DESIGN.md section 1 footprint), 2 police receivers. Per day: a quality check
per camera every 15 min, a retention check per camera, 4 outages per button and 1 per camera, 50 alarms.
Timed: read the store (read-only), compute, render HTML and CSV. The floor is what a nightly job on
the gateway can afford without competing with the daemon: 5 s for one day's report.

    python bench/bench_report_daily.py [--quick]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.commands.report import write
from edge.report import daily, days, load
from edge.store import Database
from edge.store.devices import sync_devices

BUTTONS, CAMERAS = 64, 128
FLOOR_S = 5.0
DAY = date(2026, 11, 21)
TZ = "Asia/Shanghai"
H = 3_600_000


def _fill(path: Path, history_days: int) -> int:
    db = Database(path)
    devices = [{"id": f"btn-{i}", "type": "button", "name": f"按钮{i}", "zone": i + 1} for i in range(BUTTONS)]
    devices += [{"id": f"cam-{i}", "type": "camera", "name": f"摄像机{i}", "tags": ["key_area"] if i % 8 == 0 else []}
                for i in range(CAMERAS)]  # fmt: skip
    devices += [{"id": f"rx-{i}", "type": "receiver", "name": f"rx{i}", "location": f"dc09://r{i}"} for i in range(2)]
    sync_devices(db, devices)
    start, _ = days.day_bounds(DAY, ZoneInfo(TZ))
    rows: list[tuple[str, int, str, str, str, str, int]] = []
    alarms: list[tuple[str, str, str, int, int | None]] = []

    def ev(ts: int, dev: str, kind: str, payload: dict[str, object]) -> None:
        rows.append((str(uuid.uuid4()), ts, "bench", dev, kind, json.dumps(payload), 0))

    for d in range(-history_days, 1):
        base = start + d * 24 * H
        for i in range(BUTTONS):
            for k in range(4):
                ev(base + k * 6 * H + i * 1000, f"btn-{i}", "device.offline", {"reason": "no_response"})
                ev(base + k * 6 * H + i * 1000 + 600_000, f"btn-{i}", "device.online", {})
        for i in range(CAMERAS):
            ev(base + 3 * H + i * 1000, f"cam-{i}", "device.offline", {"reason": "no_response"})
            ev(base + 4 * H + i * 1000, f"cam-{i}", "device.online", {})
            ev(
                base + 3 * H + 1800_000,
                f"cam-{i}",
                "camera.retention",
                {
                    "verdict": "pass",
                    "retained_days": 95,
                    "required_days": 90 if i % 8 == 0 else 30,
                    "shortfall_days": 0,
                },
            )
            for q in range(96):  # every 15 min
                ev(
                    base + q * 900_000 + i,
                    f"cam-{i}",
                    "camera.quality",
                    {"verdict": "fail" if q % 10 == 0 else "pass", "failures": ["blurred"] if q % 10 == 0 else []},
                )
        for r in range(2):
            ev(base + 20 * H, f"rx-{r}", "relay.link", {"receiver": f"dc09://r{r}", "state": "down", "reason": "t"})
            ev(base + 20 * H + 600_000, f"rx-{r}", "relay.link", {"receiver": f"dc09://r{r}", "state": "up"})
        for a in range(50):
            alarms.append((f"al-{d}-{a}", f"btn-{a % BUTTONS}", "alarm.press", base + a * 1_700_000,
                           None if a % 7 == 0 else base + a * 1_700_000 + 30_000 + a * 1000))  # fmt: skip
    with db.tx() as conn:
        conn.executemany(
            "INSERT INTO events (id, ts_ms, site, device_id, kind, payload, test) VALUES (?,?,?,?,?,?,?)", rows
        )
        conn.executemany(
            "INSERT INTO alarms (id, event_id, device_id, category, kind, severity, state, opened_ms, acked_ms, "
            "updated_ms) VALUES (?, ?, ?, 'alarm', ?, 'high', 'open', ?, ?, 0)",
            [(a, a, dev, kind, opened, acked) for a, dev, kind, opened, acked in alarms],
        )
    db.close()
    return len(rows)


def run(quick: bool = False) -> list[dict[str, object]]:
    history = 2 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "edge.db"
        n_events = _fill(path, history)
        start, end = days.day_bounds(DAY, ZoneInfo(TZ))
        t0 = time.perf_counter()
        inp = load.load(path, start, end)
        t1 = time.perf_counter()
        report = daily.compute(inp, DAY, TZ, end + 1)
        t2 = time.perf_counter()
        write(report, ["html", "csv"], Path(tmp) / "out")
        t3 = time.perf_counter()
    total = t3 - t0
    print(f"store: {n_events} events over {history + 1} days; {BUTTONS} buttons, {CAMERAS} cameras")
    print(f"read {t1 - t0:.3f} s, compute {t2 - t1:.3f} s, render {t3 - t2:.3f} s")
    return [
        {
            "figure": "report_daily_total",
            "value": round(total, 3),
            "unit": "s",
            "floor": FLOOR_S,
            "floor_unit": "s",
            "ratio": round(FLOOR_S / total, 2),
        }
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['figure']}: {row['value']} {row['unit']} (floor {row['floor']} {row['floor_unit']}, "
              f"ratio floor/value {row['ratio']})")  # fmt: skip
