"""A small school wired for end-to-end tests: real peers in a background event loop, `edge run` as a child.

Peers: mosquitto (child process), a socat pty pair with the pymodbus simulator on one end, the ONVIF
simulator and the video simulator (in-process servers), pysiaalarm as the police receiver. The peers run
in their own thread and loop, so the tests stay synchronous and the daemon is a real separate process
that can be sent SIGHUP. `bench/` reuses this module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from ruamel.yaml import YAML

from edge.api.tokens import Role, create_token
from edge.sim.modbus import ModbusSim
from edge.sim.mqtt_buttons import SimMqttButton
from edge.sim.onvif.server import OnvifSimulator
from edge.sim.onvif.state import Faults, SimCamera
from edge.sim.serial_pair import SerialPair
from edge.sim.video_server import VideoServer
from tests.helpers import buttons_online
from tests.peers.mosquitto import Mosquitto
from tests.peers.ports import free_port
from tests.peers.sia_receiver import Received, SiaReceiver, hex_key

T = TypeVar("T")
log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "1234"
AES_KEY = "E2ETESTKEY012345"  # pysiaalarm takes ASCII; the key file holds its hex (AES-128)
CAM_USER, CAM_PASS = "admin", "admin123"
# The daemon answers /healthz within ~2 s; a loaded CI box gets more.
READY_TIMEOUT_S = 20.0


class PeerLoop:
    """An asyncio loop in a daemon thread: the in-process peers live here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-peers", daemon=True)
        self.thread.start()

    def call(self, coro: Awaitable[T], timeout: float = 10.0) -> T:
        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def run(self, fn: Callable[[], T]) -> T:
        async def wrap() -> T:
            return fn()

        return self.call(wrap())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def wait_until(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        time.sleep(step)


class Site:
    """Peers + config + daemon. `serial` = {button id: (unit, input)} on bus1; `mqtt` = {button id: zone}."""

    def __init__(
        self,
        tmp: Path,
        serial: dict[str, tuple[int, int, int]],
        mqtt: dict[str, int],
        cameras: dict[str, float] | None = None,
        *,
        poll_interval: float = 0.2,
        heartbeat_timeout: float = 30,
        bus_timeout: float = 0.1,
        offline_after_polls: int | None = None,
        extra: dict[str, Any] | None = None,
        aes: bool = True,
    ) -> None:
        self.tmp = tmp
        self.serial, self.mqtt_zones, self.camera_retention = serial, mqtt, cameras or {}
        self.poll_interval, self.heartbeat_timeout, self.bus_timeout = poll_interval, heartbeat_timeout, bus_timeout
        self.offline_after_polls = offline_after_polls
        self.extra = extra or {}
        self.peers = PeerLoop()
        self.broker = Mosquitto(tmp / "mqtt")
        self.line = SerialPair(tmp / "bus1-sim", tmp / "bus1-edge")
        self.modbus = ModbusSim()
        self.aes = aes
        self.receiver = SiaReceiver(ACCOUNT, AES_KEY if aes else None)
        self.video: VideoServer | None = None
        self.onvif: OnvifSimulator | None = None
        self.buttons: dict[str, SimMqttButton] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = tmp / "edge.yaml"
        self.log_path = tmp / "daemon.log"
        self.daemon: subprocess.Popen[bytes] | None = None
        self.tokens: dict[Role, str] = {}

    # --- peers -----------------------------------------------------------------------------------
    def start_peers(self) -> None:
        self.broker.start()
        self.line.start()
        units = sorted({u for u, _, _ in self.serial.values()})
        if units:
            self.peers.call(self.modbus.start(self.line.a, units))
        self.peers.call(self.receiver.start())
        if self.camera_retention:
            self.peers.call(self._start_cameras())
        for bid in self.mqtt_zones:
            button = SimMqttButton(self.broker.url, "edge", bid)
            button.power_on()
            self.buttons[bid] = button

    async def _start_cameras(self) -> None:
        self.video = VideoServer("127.0.0.1", 0)
        for cid in self.camera_retention:
            self.video.add_camera(cid, "normal")
        await self.video.start()
        self.onvif = OnvifSimulator(
            "127.0.0.1", f"http://127.0.0.1:{self.video.port}", on_video_mode=self.video.set_mode
        )
        for cid, days in self.camera_retention.items():
            faults = Faults()
            faults.update({"retention_days": days})
            await self.onvif.add(SimCamera(cid, CAM_USER, CAM_PASS, faults=faults))

    # --- config ----------------------------------------------------------------------------------
    def config(self, rules: list[dict[str, Any]] | None = None, alarms: dict[str, Any] | None = None) -> dict[str, Any]:
        (self.tmp / "dc09.key").write_text(hex_key(AES_KEY) + "\n")
        (self.tmp / "cam.pass").write_text(CAM_PASS + "\n")
        buttons: list[dict[str, Any]] = []
        for i, (bid, (unit, inp, zone)) in enumerate(self.serial.items()):
            buttons.append(
                {"id": bid, "name": f"串口按钮{i}", "location": f"位置{bid}", "zone": zone, "transport": "serial",
                 "bus": "bus1", "unit": unit, "input": {"type": "discrete_input", "address": inp},
                 "tamper": {"type": "discrete_input", "address": inp + 1}}
            )  # fmt: skip
        for bid, zone in self.mqtt_zones.items():
            buttons.append(
                {"id": bid, "name": f"MQTT按钮{zone}", "location": f"位置{bid}", "zone": zone, "transport": "mqtt",
                 "heartbeat_timeout": self.heartbeat_timeout}
            )  # fmt: skip
        bus: dict[str, Any] = {
            "id": "bus1", "port": str(self.line.b), "baudrate": 9600, "poll_interval": self.poll_interval,
            "timeout": self.bus_timeout,
        }  # fmt: skip
        if self.offline_after_polls is not None:
            bus["offline_after"] = self.offline_after_polls
        doc: dict[str, Any] = {
            "site": {"id": "e2e-school", "name": "端到端测试学校", "timezone": "Asia/Shanghai"},
            "storage": {"path": str(self.tmp / "edge.db")},
            "api": {"listen": f"127.0.0.1:{self.port}", "tokens_file": str(self.tmp / "tokens.yaml")},
            "mqtt": {"url": self.broker.url, "topic_prefix": "edge"},
            "serial_buses": [bus] if self.serial else [],
            "buttons": buttons,
            "cameras": [
                {
                    "id": cid,
                    "name": f"摄像机{cid}",
                    "location": "南门",
                    "onvif": self.onvif.url(cid),
                    "username": CAM_USER,
                    "password_file": str(self.tmp / "cam.pass"),
                    "key_area": False,
                }
                for cid in self.camera_retention
                if self.onvif is not None
            ],
            "police": {
                "account": ACCOUNT,
                "format": "ADM-CID",
                "receiver": "1",
                "line": "1",
                **({"key_file": str(self.tmp / "dc09.key")} if self.aes else {}),
                "supervision_interval": 0,
                "receivers": [self.receiver.url],
                "connect_timeout": 0.5,
                "ack_timeout": 1.0,
                "retry_max_interval": 0.4,
            },
            "checks": {
                "camera_interval": 30,
                "quality_interval": 300,
                "startup_delay": 0.2,
                "call_timeout": 3,
                "frame_timeout": 5,
            },
            "rules": rules or [],
            **self.extra,
        }
        if alarms:
            doc["alarms"] = alarms
        return doc

    def write_config(self, doc: dict[str, Any]) -> None:
        yaml = YAML()
        yaml.default_flow_style = False
        tmp = self.config_path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh)
        tmp.replace(self.config_path)  # a reload never reads a half-written file

    # --- daemon ----------------------------------------------------------------------------------
    def start_daemon(self, log_level: str = "info") -> None:
        for role in (Role.VIEWER, Role.OPERATOR, Role.TECHNICIAN):
            self.tokens[role] = create_token(self.tmp / "tokens.yaml", f"e2e-{role.name.lower()}", role)
        with self.log_path.open("ab") as log:
            self.daemon = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "-c", str(self.config_path), "--log-level", log_level],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"daemon exited {self.daemon.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200 and self._mqtt_session_up():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"daemon not ready:\n{self.log_tail()}")
            time.sleep(0.05)

    def _mqtt_session_up(self) -> bool:
        powered = [bid for bid, b in self.buttons.items() if b.powered]
        return buttons_online(self.url, self.tokens[Role.VIEWER], powered)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def reload(self) -> None:
        assert self.daemon is not None
        before = self.log_path.read_text(errors="replace").count("config reloaded")
        self.daemon.send_signal(signal.SIGHUP)
        wait_until(
            lambda: self.log_path.read_text(errors="replace").count("config reloaded") > before, 10, "reload logged"
        )

    def stop_daemon(self) -> None:
        proc, self.daemon = self.daemon, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Everything stops even when a part never started or fails to stop: each step on its own."""
        steps: list[tuple[str, Callable[[], object]]] = [("daemon", self.stop_daemon)]
        steps += [(f"button {k}", b.close) for k, b in self.buttons.items()]
        if self.onvif is not None:
            steps.append(("onvif", lambda: self.peers.call(self.onvif.close()) if self.onvif else None))
        if self.video is not None:
            steps.append(("video", lambda: self.peers.call(self.video.stop()) if self.video else None))
        steps.append(("receiver", lambda: self.peers.call(self.receiver.stop())))
        if self.serial:
            steps.append(("modbus", lambda: self.peers.call(self.modbus.stop())))
        steps += [("peers", self.peers.close), ("line", self.line.stop), ("broker", self.broker.stop)]
        for name, step in steps:
            try:
                step()
            except Exception:  # cleanup goes on; the failure is logged with its traceback
                log.exception("e2e site: stopping %s failed", name)

    # --- API and receiver ------------------------------------------------------------------------
    def api(self, method: str, path: str, role: Role = Role.VIEWER, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=5, **kw)

    def alarms(self, device: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        params = {"state": state} if state else {}
        items: list[dict[str, Any]] = self.api("GET", "/alarms", params=params).json()["items"]
        return [a for a in items if device is None or a["device_id"] == device]

    def received(self, zone: int | None = None) -> list[Received]:
        return [e for e in self.receiver.messages() if zone is None or e.zone == zone]

    def wait_received(self, zone: int, count: int, timeout: float = 5.0) -> list[Received]:
        wait_until(lambda: len(self.received(zone)) >= count, timeout, f"{count} report(s) for zone {zone}")
        return self.received(zone)

    def env(self) -> dict[str, str]:
        return dict(os.environ)
