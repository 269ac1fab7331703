"""Run every benchmark and print one table: figure, value, floor, ratio, and the machine.

.venv/bin/python bench/run.py            # full runs
.venv/bin/python bench/run.py --quick    # smaller counts, for a smoke check
.venv/bin/python bench/run.py --markdown # the table as it goes into the README
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, render


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def discover() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(p.stem for p in here.glob("bench_*.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--only", nargs="*", help="benchmark module names, e.g. bench_relay")
    args = parser.parse_args()
    rows: list[Row] = []
    failed: list[str] = []
    for name in args.only or discover():
        started = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            for row in module.run(quick=args.quick):
                rows.append({"bench": name.removeprefix("bench_"), **row})
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
        print(f"  {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    print(f"machine: {machine()}")
    print(f"command: .venv/bin/python bench/run.py{' --quick' if args.quick else ''}")
    print(render(rows, args.markdown))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
