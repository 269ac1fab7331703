"""Camera storm (issue 13): MQTT press -> DC-09 ACK while the camera worker is SIGSEGV'd every 10 s.

    python bench/bench_storm.py [--quick]

The real daemon (`edge run`), mosquitto, a DC-09 receiver and simulated cameras (tests/faults/storm.py,
the same run as tests/faults/test_camera_storm.py). Quiet phase: presses one at a time on a working
site. Storm: the worker is killed with SIGSEGV every 10 s while one camera stalls mid-stream and another
answers with endless garbage; the presses go on. Bars: storm p99 <= 1.5 x quiet p99, nothing lost,
/healthz (asked every 50 ms from its own process, both phases) within 100 ms.
Full: 8 cameras, 300 quiet presses, 120 s of storm; --quick: 4 cameras, 100 presses, 25 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, print_rows, row
from tests.faults.storm import run_storm

P99_RATIO_BAR = 1.5
HEALTHZ_BAR_MS = 100.0


def run(quick: bool = False) -> list[Row]:
    cameras, quiet, storm_s = (4, 100, 25.0) if quick else (8, 300, 120.0)
    with tempfile.TemporaryDirectory() as d:
        f = asyncio.run(run_storm(Path(d), cameras=cameras, quiet_presses=quiet, storm_s=storm_s))
    label = f"{cameras} cameras, worker SIGSEGV every 10 s, {f.kills} kills"
    ratio = f.storm_p99 / f.quiet_p99 if f.quiet_p99 else float("nan")
    return [
        row(f"MQTT press->DC-09 ACK p99, quiet ({len(f.quiet_ms)} alarms)", f.quiet_p99, "ms", f.quiet_p99,
            "ms (itself: the storm's reference)"),
        row(f"MQTT press->DC-09 ACK p99, storm ({len(f.storm_ms)} alarms, {label})", f.storm_p99, "ms",
            f.quiet_p99, "ms (quiet p99, same site)"),
        row("storm p99 / quiet p99", ratio, "x", P99_RATIO_BAR, "x bar (issue 13)"),
        row(f"presses or releases not at the receiver (of {2 * f.presses})", f.lost, "reports", 0, "lost (bar)"),
        row(f"/healthz slowest answer, both phases ({f.healthz_probes} probes)", f.healthz_max_ms, "ms",
            HEALTHZ_BAR_MS, "ms bar (issue 13)"),
    ]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="4 cameras, 100 quiet presses, 25 s of storm")
    args = p.parse_args()
    print_rows(run(args.quick))


if __name__ == "__main__":
    main()
