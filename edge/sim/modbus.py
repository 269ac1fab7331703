"""A Modbus RTU line of 16-input DI modules (pymodbus server), whose inputs change live.

Each unit has 16 discrete inputs, 16 coils and 8 input and 8 holding registers. The test or the
demo presses a button with `press(unit, address)`; the server's `action` callback copies the live
state into the registers on every read. Faults for tests: `set_silent(unit)` (unit dead),
`inject("crc"|"garbage"|"noise", n)` (the next n replies corrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

log = logging.getLogger(__name__)

INPUTS = 16  # a common DI module size (e.g. 16-channel RS-485 DI boards)
REGISTERS = 8
# Function codes whose registers the action refreshes: coils, discrete inputs, holding, input registers.
_BLOCK_OF = {1: "coils", 2: "di", 3: "hr", 4: "ir", 5: "coils", 15: "coils", 6: "hr", 16: "hr"}


def _mask(bits: list[bool]) -> int:
    return sum(1 << k for k, on in enumerate(bits) if on)


@dataclass
class UnitState:
    di: list[bool] = field(default_factory=lambda: [False] * INPUTS)
    coils: list[bool] = field(default_factory=lambda: [False] * INPUTS)
    hr: list[int] = field(default_factory=lambda: [0] * REGISTERS)
    ir: list[int] = field(default_factory=lambda: [0] * REGISTERS)
    silent: bool = False


class ModbusSim:
    """start(port, units) / press / release / set_tamper / set_input / set_silent / inject / stop."""

    def __init__(self) -> None:
        self.units: dict[int, UnitState] = {}
        self.server: ModbusSerialServer | None = None
        self.requests = 0
        self._faults: dict[int, list[str]] = {}  # unit (0: any unit) -> faults for its next replies

    def _device(self, unit: int) -> SimDevice:
        async def action(
            fc: int, start: int, address: int, count: int, regs: list[int], values: list[int] | list[bool] | None
        ) -> ExcCodes | None:
            self._refresh(unit, fc, regs, values)
            return None

        def bits() -> list[SimData]:
            return [SimData(0, values=[False] * INPUTS, datatype=DataType.BITS)]

        def words() -> list[SimData]:
            return [SimData(0, values=[0] * REGISTERS, datatype=DataType.REGISTERS)]

        # Separate blocks (coils, discrete inputs, holding, input registers), as DI modules have.
        simdata = (bits(), bits(), words(), words())
        return SimDevice(id=unit, simdata=simdata, action=action)

    def _refresh(self, unit: int, fc: int, regs: list[int], values: list[int] | list[bool] | None) -> None:
        self.requests += 1
        state = self.units.get(unit, UnitState())
        block = _BLOCK_OF.get(fc)
        if values is not None:
            return  # writes (coils/holding registers from a commissioning tool) go to the registers as is
        if block == "di":
            regs[0] = _mask(state.di)
        elif block == "coils":
            regs[0] = _mask(state.coils)
        elif block in ("hr", "ir"):
            regs[:REGISTERS] = state.hr if block == "hr" else state.ir

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending or not data:
            return data
        unit = self.units.get(data[0])
        if unit is None or unit.silent:
            return b""  # a dead or absent unit is silent on RS-485
        queue = self._faults.get(data[0]) or self._faults.get(0)
        if not queue:
            return data
        fault = queue.pop(0)
        if fault == "crc":
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        if fault == "noise":
            return random.randbytes(len(data))  # noqa: S311 - line noise, not crypto
        return random.randbytes(7) + data  # noqa: S311 - "garbage": noise on the line ahead of a good reply

    async def start(self, port: str | Path, units: list[int], baudrate: int = 9600) -> None:
        for u in units:
            self.units.setdefault(u, UnitState())
        # Unit 0 catches requests to absent units (pymodbus would raise); _trace keeps those silent.
        self.server = ModbusSerialServer(
            [self._device(u) for u in [0, *sorted(self.units)]],
            port=str(port),
            baudrate=baudrate,
            trace_packet=self._trace,
            reconnect_delay=0.1,
        )
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]

    def set_input(self, unit: int, address: int, active: bool, kind: str = "discrete_input") -> None:
        state = self.units[unit]
        if kind == "discrete_input":
            state.di[address] = active
        elif kind == "coil":
            state.coils[address] = active
        else:
            raise ValueError(f"use set_register for {kind}")

    def set_register(self, unit: int, address: int, value: int, kind: str = "holding_register") -> None:
        regs = self.units[unit].hr if kind == "holding_register" else self.units[unit].ir
        regs[address] = value & 0xFFFF

    def press(self, unit: int, address: int) -> None:
        self.set_input(unit, address, True)

    def release(self, unit: int, address: int) -> None:
        self.set_input(unit, address, False)

    def set_tamper(self, unit: int, address: int, active: bool = True) -> None:
        self.set_input(unit, address, active)

    def set_silent(self, unit: int, silent: bool = True) -> None:
        self.units[unit].silent = silent

    def inject(self, fault: str, count: int = 1, unit: int = 0) -> None:
        """Corrupt the next `count` replies of `unit` (0: of whichever unit answers next)."""
        if fault not in ("crc", "noise", "garbage"):
            raise ValueError(f"unknown fault {fault!r}")
        self._faults.setdefault(unit, []).extend([fault] * count)


HELP = (
    "commands: press U A | release U A | tamper U A on|off | silent U on|off"
    " | inject crc|noise|garbage [N [UNIT]] | quit"
)


async def _console(sim: ModbusSim) -> None:
    loop = asyncio.get_running_loop()
    print(HELP, flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        words = line.split()
        try:
            match words:
                case ["press", u, a]:
                    sim.press(int(u), int(a))
                case ["release", u, a]:
                    sim.release(int(u), int(a))
                case ["tamper", u, a, on]:
                    sim.set_tamper(int(u), int(a), on == "on")
                case ["silent", u, on]:
                    sim.set_silent(int(u), on == "on")
                case ["inject", kind, *n]:
                    sim.inject(kind, int(n[0]) if n else 1, int(n[1]) if len(n) > 1 else 0)
                case ["quit"]:
                    return
                case _:
                    print(HELP, flush=True)
                    continue
            print("ok", flush=True)
        except (ValueError, KeyError, IndexError) as exc:
            print(f"error: {exc}", flush=True)


async def _main(args: argparse.Namespace) -> None:
    from edge.sim.serial_pair import SerialPair  # noqa: PLC0415 - only the CLI makes its own line

    pair = SerialPair(Path(args.port), Path(args.peer)).start() if args.peer else None
    sim = ModbusSim()
    try:
        await sim.start(args.port, [int(u) for u in args.units.split(",")], args.baudrate)
        print(f"simulating units {args.units} on {args.port}" + (f", poll from {args.peer}" if pair else ""))
        await _console(sim)
    finally:
        await sim.stop()
        if pair is not None:
            pair.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m edge.sim.modbus", description=__doc__)
    parser.add_argument("--port", required=True, help="serial device the simulated units answer on")
    parser.add_argument("--peer", help="also create a socat pty pair: --port <-> --peer (poll from --peer)")
    parser.add_argument("--units", default="1", help="comma-separated unit ids, e.g. 1,2,3")
    parser.add_argument("--baudrate", type=int, default=9600)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
