"""A school gateway for the county tests: its own mosquitto for MQTT buttons, `edge run` as a child process
with an `uplink:` to the county broker, and simulated buttons."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.api.tokens import Role, create_token
from edge.sim.mqtt_buttons import SimMqttButton
from tests.helpers import buttons_online
from tests.peers.mosquitto import Mosquitto, bridge_conf
from tests.peers.ports import free_port

REPO = Path(__file__).resolve().parents[2]


class School:
    def __init__(
        self,
        tmp: Path,
        site_id: str,
        county_url: str,
        buttons: int = 2,
        prefix: str = "county",
        bridged: bool = False,
    ) -> None:
        """`bridged`: the uplink publishes to the school's own mosquitto, which bridges `<prefix>/#` to
        the county broker (the school→county hop done by the brokers)."""
        self.tmp = tmp / site_id
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.site_id, self.prefix = site_id, prefix
        self.button_ids = [f"btn-{i + 1}" for i in range(buttons)]
        bridge = bridge_conf("county", county_url, f"{prefix}/{site_id}/#", f"bridge-{site_id}") if bridged else ""
        self.broker = Mosquitto(self.tmp / "broker", extra_conf=bridge)
        self.county_url = self.broker.url if bridged else county_url
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.buttons: dict[str, SimMqttButton] = {}
        self.token = ""

    def config(self, extra_uplink: str = "", extra: str = "") -> Path:
        path = self.tmp / "edge.yaml"
        buttons = "".join(
            f"  - {{id: {b}, name: 按钮{i + 1}, location: 教学楼, zone: {i + 1}, transport: mqtt,"
            f" heartbeat_timeout: 30}}\n"
            for i, b in enumerate(self.button_ids)
        )
        path.write_text(
            f"site: {{id: {self.site_id}, name: 测试学校{self.site_id}}}\n"
            f"storage: {{path: {self.tmp / 'edge.db'}}}\n"
            f'api: {{listen: "127.0.0.1:{self.port}", tokens_file: {self.tmp / "tokens.yaml"}}}\n'
            f"mqtt: {{url: {self.broker.url}, topic_prefix: school}}\n"
            f"buttons:\n{buttons}"
            f"uplink: {{url: {self.county_url}, topic_prefix: {self.prefix}, status_interval: 5{extra_uplink}}}\n"
            + extra,
            encoding="utf-8",
        )
        return path

    def start(self, extra_uplink: str = "", extra: str = "") -> School:
        """`extra`: more top-level config sections (YAML), e.g. a `police:` receiver."""
        self.broker.start()
        if not self.token:
            self.token = create_token(self.tmp / "tokens.yaml", "test", Role.ADMIN, cost=2**10)
        cfg = self.config(extra_uplink, extra)
        self.log = (self.tmp / "edge.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "-c", str(cfg)],
            cwd=REPO,
            env={**os.environ, "EDGE_LOG_LEVEL": "info"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"edge run did not start; see {self.tmp / 'edge.log'}")
            time.sleep(0.1)
        for b in self.button_ids:
            btn = SimMqttButton(self.broker.url, "school", b)
            btn.power_on()
            self.buttons[b] = btn
        self._wait_buttons_online(deadline)
        return self

    def _wait_buttons_online(self, deadline: float) -> None:
        """tests.helpers.buttons_online: a press before the daemon's first subscription is dropped."""
        while not buttons_online(f"http://127.0.0.1:{self.port}", self.token, self.buttons):
            if time.monotonic() > deadline:
                log = self.tmp / "edge.log"
                raise RuntimeError(f"the buttons of {self.site_id} are not online in edge run; see {log}")
            time.sleep(0.05)

    def status(self) -> dict[str, Any]:
        r = httpx.get(
            f"http://127.0.0.1:{self.port}/api/v1/status", headers={"Authorization": f"Bearer {self.token}"}, timeout=5
        )
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def metrics(self) -> str:
        r = httpx.get(
            f"http://127.0.0.1:{self.port}/api/v1/metrics", headers={"Authorization": f"Bearer {self.token}"}, timeout=5
        )
        r.raise_for_status()
        return r.text

    def press(self, button: str | None = None) -> None:
        btn = self.buttons[button or self.button_ids[0]]
        btn.press()
        btn.release()

    def stop(self) -> None:
        for btn in self.buttons.values():
            btn.close()
        self.buttons.clear()
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.broker.stop()


class Collector:
    """A plain MQTT 5 subscriber on the county broker recording every message it gets (the 'bare' peer)."""

    def __init__(self, url: str, topic: str) -> None:
        host, port = url.rsplit("//", 1)[1].split(":")
        self.messages: list[tuple[str, bytes, bool]] = []
        self.times: list[float] = []  # monotonic arrival time of each message
        self.lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        ready = threading.Event()

        def on_connect(c: paho.Client, *_a: Any) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(*_a: Any) -> None:
            ready.set()

        def on_message(_c: paho.Client, _u: Any, m: paho.MQTTMessage) -> None:
            with self.lock:
                self.messages.append((m.topic, bytes(m.payload), bool(m.retain)))
                self.times.append(time.monotonic())

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        if not ready.wait(5):
            raise RuntimeError("collector could not subscribe")

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for t, p, _r in self.messages if t.endswith("/events")]

    def arrivals(self, suffix: str = "/events") -> list[float]:
        with self.lock:
            return [t for (topic, _p, _r), t in zip(self.messages, self.times, strict=True) if topic.endswith(suffix)]

    def last(self, suffix: str) -> dict[str, Any] | None:
        with self.lock:
            for t, p, _r in reversed(self.messages):
                if t.endswith(suffix):
                    body: dict[str, Any] = json.loads(p)
                    return body
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(cond: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} not met within {timeout} s")
