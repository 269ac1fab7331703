"""Registration, config wiring and the simulator's command line (the demo runs it this way)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from edge.config import Config
from edge.drivers.base import DriverContext
from edge.drivers.modbus_frame import Function, Reply
from edge.drivers.modbus_link import SerialLink
from edge.drivers.modbus_rtu import ModbusRtuBus, offline_after
from edge.drivers.mqtt_buttons import MqttButtons
from edge.drivers.registry import BUILTIN_MODULES, build_drivers
from edge.events import Event


async def _drop(event: Event) -> None:
    return None


CONFIG = {
    "site": {"id": "sch-0001"},
    "storage": {"path": "/tmp/x.db"},
    "api": {},
    "mqtt": {"url": "mqtt://127.0.0.1:1883", "topic_prefix": "edge"},
    "serial_buses": [
        {"id": "bus1", "port": "/dev/ttyUSB0", "poll_interval": 0.2},
        {"id": "bus2", "port": "/dev/ttyUSB1", "poll_interval": 0.3, "offline_after": 7},
    ],
    "buttons": [
        {
            "id": "gate",
            "name": "南门",
            "zone": 1,
            "transport": "serial",
            "bus": "bus1",
            "unit": 1,
            "input": {"type": "discrete_input", "address": 0},
            "tamper": {"type": "discrete_input", "address": 1},
        },
        {"id": "dorm-a", "name": "宿舍A", "zone": 2, "transport": "mqtt", "heartbeat_timeout": 30},
    ],
}


def test_both_families_registered_and_built_from_config() -> None:
    assert {"edge.drivers.modbus_rtu", "edge.drivers.mqtt_buttons"} <= set(BUILTIN_MODULES)
    config = Config.model_validate(CONFIG)
    drivers = build_drivers(config, DriverContext(site_id="sch-0001", emit=_drop))
    buses = [d for d in drivers if isinstance(d, ModbusRtuBus)]
    mqtt = [d for d in drivers if isinstance(d, MqttButtons)]
    assert [b.name for b in buses] == ["bus1", "bus2"]
    assert [u.unit for u in buses[0].units] == [1] and buses[1].units == []
    assert offline_after(buses[0].bus) == 50  # 10 s at 0.2 s per round
    assert offline_after(buses[1].bus) == 7
    assert len(mqtt) == 1 and mqtt[0].link.client_id == "edge-sch-0001"
    assert mqtt[0].diagnostics()["password"] == ""


def test_sim_cli_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edge.sim.modbus", "--help"], capture_output=True, text=True, check=True
    )
    assert "--port" in out.stdout and "--units" in out.stdout


async def test_sim_cli_drives_inputs(tmp_path: Path) -> None:
    a, b = tmp_path / "simA", tmp_path / "edgeB"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.sim.modbus",
        "--port",
        str(a),
        "--peer",
        str(b),
        "--units",
        "3",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        async with asyncio.timeout(10):
            while b"simulating" not in await proc.stdout.readline():
                pass
        proc.stdin.write(b"press 3 4\n")
        await proc.stdin.drain()
        while b"ok" not in await proc.stdout.readline():
            pass
        link = SerialLink(str(b), 9600, "N", 1, 8)
        await link.open(2)
        try:
            out = await link.read(3, Function.READ_DISCRETE_INPUTS, 0, 16, 1.0)
        finally:
            link.close()
        assert isinstance(out.result, Reply) and out.result.values[4] == 1 and sum(out.result.values) == 1
        proc.stdin.write(b"quit\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert not a.exists() and not b.exists()  # the CLI removes its pty pair
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
