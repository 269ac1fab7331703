"""Poll cycle of one RS-485 bus with 32 DI units, against the Modbus line time at 9600 baud.

The simulator runs in its own process on one end of a socat pty pair and the bus driver in this
one, so the measured time per poll is driver + simulator + pty, with no line time at all (a pty
ignores the baud rate). The floor is what the frames alone need on a real line at 9600 baud:
bytes x 11 bits (8N1 + start, or 8E1) / baud, plus a 3.5-character silent gap after each frame.
Usage: python bench/bench_poll.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_rows
from edge.config.devices import InputRef, SerialBus, SerialButton
from edge.drivers.base import DriverContext
from edge.drivers.modbus_frame import Function, reply_len
from edge.drivers.modbus_rtu import BITS_PER_CHAR, REQUEST_BYTES, ModbusRtuBus
from edge.events import Event

UNITS = 32
INPUTS = 16
BAUD = 9600


def line_time_per_poll(baud: int = BAUD) -> float:
    """Seconds one DI poll (request + reply of 16 inputs) occupies the line, gaps included."""
    char = BITS_PER_CHAR / baud
    frames = REQUEST_BYTES + reply_len(Function.READ_DISCRETE_INPUTS, INPUTS)
    return frames * char + 2 * 3.5 * char


async def _measure(seconds: float) -> dict[str, float]:
    events: list[Event] = []

    async def emit(e: Event) -> None:
        events.append(e)

    with tempfile.TemporaryDirectory() as tmp:
        sim_port, edge_port = Path(tmp) / "sim", Path(tmp) / "edge"
        units = ",".join(str(u) for u in range(1, UNITS + 1))
        sim = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "edge.sim.modbus",
            "--port",
            str(sim_port),
            "--peer",
            str(edge_port),
            "--units",
            units,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert sim.stdout is not None and sim.stdin is not None
        while b"simulating" not in await sim.stdout.readline():
            pass
        bus = SerialBus(id="bench", port=str(edge_port), poll_interval=0.001, timeout=0.5)
        buttons = [
            SerialButton(
                id=f"b{u}",
                name=f"b{u}",
                zone=u,
                transport="serial",
                bus="bench",
                unit=u,
                input=InputRef(type="discrete_input", address=0),
            )
            for u in range(1, UNITS + 1)
        ]
        driver = ModbusRtuBus(bus, buttons, DriverContext(site_id="bench", emit=emit))
        task = asyncio.create_task(driver.run())
        while len(events) < UNITS + 1:  # noqa: ASYNC110 - bus + every button online: warmed up
            await asyncio.sleep(0.01)
        polls0 = sum(u.polls for u in driver.units)
        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        polls = sum(u.polls for u in driver.units) - polls0
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        errors = sum(sum(u.errors.values()) for u in driver.units)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sim.stdin.write(b"quit\n")
        await sim.stdin.drain()
        await sim.wait()
    return {"per_poll_s": wall / polls, "cpu_per_poll_s": cpu / polls, "polls": polls, "errors": errors}


def run(quick: bool = False) -> list[dict[str, object]]:
    m = asyncio.run(_measure(1.0 if quick else 5.0))
    line = line_time_per_poll()
    cycle = m["per_poll_s"] * UNITS
    overhead = m["cpu_per_poll_s"]
    projected = UNITS * (line + overhead)
    ms = 1000.0
    return [
        {
            "figure": "cycle time, 32 units, pty (driver + simulator, no line time)",
            "value": cycle * ms,
            "unit": "ms",
            "floor": UNITS * line * ms,
            "floor_unit": "ms (32 polls of line time @9600)",
            "ratio": cycle / (UNITS * line),
        },
        {
            "figure": "per-poll software overhead (driver CPU per poll)",
            "value": overhead * ms,
            "unit": "ms",
            "floor": line * ms,
            "floor_unit": "ms (one poll's line time @9600)",
            "ratio": overhead / line,
        },
        {
            "figure": "projected cycle @9600, 32 units (line + driver overhead)",
            "value": projected * ms,
            "unit": "ms",
            "floor": UNITS * line * ms,
            "floor_unit": "ms",
            "ratio": projected / (UNITS * line),
        },
        {
            "figure": "polls without a usable reply during the run",
            "value": m["errors"],
            "unit": "polls",
            "floor": 0,
            "floor_unit": "polls",
            "ratio": 0.0 if not m["errors"] else float("inf"),
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.quick))


if __name__ == "__main__":
    main()
