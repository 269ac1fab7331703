"""A whole small site under test, for the fault-injection suite.

Real peers only: mosquitto (with persistence, so a broker restart keeps QoS 1 sessions), the Modbus
simulator on a socat pair (RS-485 buttons), MQTT buttons as paho clients, one or more recording
DC-09 receivers (the police; in the test's own loop, so they outlive every daemon kill), and the
daemon as an `edge run` subprocess on a generated config, with a technician token for the API.

The receivers, the Modbus simulator and the test share one event loop: blocking calls (paho
publishes, process waits) go through `asyncio.to_thread`; children are started from the main thread
(their death signal follows the forking thread).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.api.tokens import Role, create_token
from edge.demo.plan import write_yaml
from edge.demo.procs import Child, SocatLine
from edge.sim.modbus import ModbusSim
from edge.sim.mqtt_buttons import SimMqttButton
from edge.sim.receiver import DemoReceiver, Report
from tests.helpers import REPO, buttons_online, free_port
from tests.peers.mosquitto import Mosquitto

ACCOUNT = "1234"
UNIT = 1  # every RS-485 button sits on one module; input address = button index
# The daemon starts (imports, migrations, API bind) within ~2 s on a loaded 2-core box; 20 s is slack.
START_TIMEOUT_S = 20.0
TOKEN_COST = 2**10  # scrypt n: a test token need not resist brute force, and the default costs ~100 ms


@dataclass(frozen=True)
class ButtonSpec:
    id: str
    zone: int
    transport: str  # "mqtt" or "serial"
    address: int = 0  # the Modbus discrete input, for serial buttons


@dataclass
class SiteSpec:
    mqtt_buttons: int = 2
    serial_buttons: int = 2
    receivers: int = 1
    police: dict[str, Any] = field(default_factory=dict)  # overrides of the police section
    bus: dict[str, Any] = field(default_factory=dict)  # overrides of the serial bus
    heartbeat_timeout: float = 3600.0  # MQTT buttons here send no heartbeats unless a test says so
    extra: dict[str, Any] = field(default_factory=dict)  # more top-level config sections, e.g. alarms
    store_dir: Path | None = None  # where the store lives (a small tmpfs for the disk-full test)


class Site:
    def __init__(self, tmp: Path, spec: SiteSpec | None = None) -> None:
        self.tmp = tmp
        self.spec = spec or SiteSpec()
        self.buttons = [ButtonSpec(f"mqtt-{i + 1}", 11 + i, "mqtt") for i in range(self.spec.mqtt_buttons)]
        self.buttons += [
            ButtonSpec(f"rs485-{i + 1}", 1 + i, "serial", address=i) for i in range(self.spec.serial_buttons)
        ]
        self.broker = Mosquitto(tmp / "mosquitto")
        self.sim = ModbusSim()
        self.line: SocatLine | None = None
        self.receivers = [DemoReceiver(log_path=tmp / f"received-{i + 1}.jsonl") for i in range(self.spec.receivers)]
        self.mqtt: dict[str, SimMqttButton] = {}
        self.api_port = free_port()
        self.config_path = tmp / "edge.yaml"
        self.db_path = (self.spec.store_dir or tmp) / "edge.db"
        self.daemon: Child | None = None
        self.token = ""
        self.starts = 0

    # --- peers ------------------------------------------------------------------------------------
    async def start(self) -> Site:
        self.broker.start()
        await self.plug_serial()
        for r in self.receivers:
            await r.start()
        for b in self.buttons:
            if b.transport == "mqtt":
                button = SimMqttButton(self.broker.url, "edge", b.id)
                await asyncio.to_thread(button.power_on)
                self.mqtt[b.id] = button
        write_yaml(self.config(), self.config_path)
        self.token = create_token(self.tmp / "tokens.yaml", "faults", Role.TECHNICIAN, cost=TOKEN_COST)
        return self

    async def plug_serial(self) -> None:
        """(Re)create the socat pair and serve the module on its far end: the adapter plugged in."""
        socat = shutil.which("socat")
        assert socat, "socat is required"
        self.line = SocatLine(socat, self.tmp / "bus-sim", self.tmp / "bus-edge")
        units = {UNIT: None}
        await self.sim.start(self.line.a, list(units))

    async def unplug_serial(self) -> None:
        """The USB adapter pulled out: the module goes and the daemon's port vanishes."""
        await self.sim.stop()
        if self.line is not None:
            self.line.stop()
            self.line = None

    async def stop(self) -> None:
        await self.stop_daemon()
        for b in self.mqtt.values():
            await asyncio.to_thread(b.close)
        for r in self.receivers:
            await r.stop()
        await self.unplug_serial()
        self.broker.stop()

    # --- config -----------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        buttons: list[dict[str, Any]] = []
        for b in self.buttons:
            common = {"id": b.id, "name": f"按钮{b.zone}", "location": f"位置{b.zone}", "zone": b.zone}
            if b.transport == "mqtt":
                buttons.append({**common, "transport": "mqtt", "heartbeat_timeout": self.spec.heartbeat_timeout})
            else:
                buttons.append(
                    {**common, "transport": "serial", "bus": "bus1", "unit": UNIT,
                     "input": {"type": "discrete_input", "address": b.address}}
                )  # fmt: skip
        police = {
            "account": ACCOUNT, "format": "ADM-CID", "receiver": "1", "line": "1", "supervision_interval": 0,
            "receivers": [r.url for r in self.receivers], "connect_timeout": 1, "ack_timeout": 1,
            "retry_max_interval": 1, **self.spec.police,
        }  # fmt: skip
        doc: dict[str, Any] = {
            "site": {"id": "fault-site", "name": "故障注入测试学校"},
            "storage": {"path": str(self.db_path)},
            "api": {"listen": f"127.0.0.1:{self.api_port}", "tokens_file": str(self.tmp / "tokens.yaml")},
            "mqtt": {"url": self.broker.url, "topic_prefix": "edge"},
            "buttons": buttons,
            "police": police,
            # Scaled with the faults' short windows: a recovered device's flag clears after 1 s, not 20 s.
            "device_states": {"hysteresis": 1},
            **self.spec.extra,
        }
        if self.spec.serial_buttons:
            doc["serial_buses"] = [
                {"id": "bus1", "port": str(self.tmp / "bus-edge"), "baudrate": 9600, "poll_interval": 0.1,
                 "timeout": 0.1, "reopen_max_delay": 0.5, **self.spec.bus}
            ]  # fmt: skip
        return doc

    # --- the daemon -------------------------------------------------------------------------------
    async def start_daemon(self, env: dict[str, str] | None = None, wait: bool = True) -> Child:
        assert self.daemon is None or not self.daemon.alive(), "one daemon at a time"
        self.starts += 1
        self.daemon = Child(
            "edge",
            [sys.executable, "-m", "edge", "run", "-c", str(self.config_path)],
            log_path=self.tmp / "daemon.log",
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        )
        if wait:
            await self.wait_healthy()
            if self.starts == 1:
                await self.wait_mqtt_session()
        return self.daemon

    async def wait_mqtt_session(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until the daemon's first MQTT subscription is in place (tests.helpers.buttons_online)."""
        powered = [bid for bid, b in self.mqtt.items() if b.powered]
        try:
            async with asyncio.timeout(timeout):
                while not await asyncio.to_thread(buttons_online, self.base, self.token, powered):
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"the daemon's MQTT session is not up within {timeout} s\n{self.log_tail()}") from None

    async def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        try:
            await self._poll_healthy(timeout)
        except TimeoutError:
            raise AssertionError(
                f"the daemon did not answer /healthz within {timeout} s\n{self.log_tail()}\n{self.stacks()}"
            ) from None

    async def _poll_healthy(self, timeout: float) -> None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            async with asyncio.timeout(timeout):
                while True:
                    assert self.daemon is not None and self.daemon.alive(), (
                        f"the daemon exited ({self.daemon.proc.returncode if self.daemon else None}):\n"
                        + self.log_tail()
                    )
                    try:
                        if (await client.get(f"{self.base}/healthz")).status_code < 500:
                            return
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.05)

    def stacks(self) -> str:
        """Every thread's stack of a daemon that hangs (py-spy where installed): what a CI log needs."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if self.daemon is None or not self.daemon.alive() or not Path(spy).exists():
            return "(no stack dump: py-spy not installed)"
        cmd = [spy, "dump", "--native", "--pid", str(self.daemon.pid)]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
        return out.stdout + out.stderr

    def kill_daemon(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.daemon is not None and self.daemon.alive():
            os.kill(self.daemon.pid, signal.SIGKILL)
            self.daemon.proc.wait()

    async def stop_daemon(self) -> None:
        if self.daemon is not None:
            await asyncio.to_thread(self.daemon.stop, 6.0)

    def log_tail(self, n: int = 40) -> str:
        path = self.tmp / "daemon.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""

    # --- the API ----------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    async def api(self, path: str) -> Any:
        async with httpx.AsyncClient(timeout=3.0) as client:
            r = await client.get(f"{self.base}/api/v1{path}", headers={"Authorization": f"Bearer {self.token}"})
            r.raise_for_status()
            return r.json()

    async def device(self, device_id: str) -> dict[str, Any]:
        return dict(await self.api(f"/devices/{device_id}"))

    async def wait_device(self, device_id: str, state: str, timeout: float = 15.0) -> dict[str, Any]:
        last: object = None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    try:
                        d = await self.device(device_id)
                    except httpx.TransportError as exc:  # a loaded box: the API may miss a beat; poll on
                        last = exc
                    else:
                        if d["state"] == state:
                            return d
                        last = d
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"{device_id} not {state} within {timeout} s; last: {last}") from None

    def flags(self, device_id: str) -> list[dict[str, Any]]:
        """The operator's flags (alarms category 'flag') for one device, any state, from the store."""
        return store_rows(
            self.db_path,
            "SELECT id, state, kind, opened_ms, closed_ms FROM alarms WHERE category = 'flag' AND device_id = ? "
            "ORDER BY opened_ms",
            (device_id,),
        )

    # --- presses ----------------------------------------------------------------------------------
    async def mqtt_press(self, button_id: str, release: bool = True) -> None:
        b = self.mqtt[button_id]
        await asyncio.to_thread(b.press)
        if release:
            await asyncio.to_thread(b.release)

    def serial_hold(self, spec: ButtonSpec, pressed: bool) -> None:
        self.sim.set_input(UNIT, spec.address, pressed)


def panics(receiver: DemoReceiver, zone: int | None = None) -> list[Report]:
    return [r for r in receiver.reports if r.name == "PANIC" and (zone is None or r.zone == zone)]


async def until(pred: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Wait for `pred()`; fail with `what` when it does not come true in time."""
    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(poll)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for: {what}") from None


def store_rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read the daemon's store from the test (WAL: readers never block the daemon's writer)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()
