"""A simulated county: N schools × D devices publishing what `uplink:` publishes, straight to the broker.

Each school has its own MQTT 5 connection (as a gateway does) and publishes its retained status and
device objects, then events in its own `seq` order: camera checks and device state changes at the
rates a school produces them, and presses on demand. Payloads have the uplink's shapes, so the
county service cannot tell a simulated school from a real one.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.events import iso_ms

CAMERA_SHARE = 0.4  # of a school's devices; the rest are buttons


def _wall() -> int:
    return time.time_ns() // 1_000_000


class SimSchool:
    def __init__(self, url: str, prefix: str, site: str, devices: int, rng: random.Random) -> None:
        self.site, self.base = site, f"{prefix}/{site}"
        cams = int(devices * CAMERA_SHARE)
        self.devices = [(f"cam-{i:03d}", "camera") for i in range(cams)] + [
            (f"btn-{i:03d}", "button") for i in range(devices - cams)
        ]
        self.rng = rng
        self.seq = 0
        self.clock_offset_ms = 0  # how wrong this school's clock is (a fault to simulate)
        self.lock = threading.Lock()
        parts = urlsplit(url)
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{site}", protocol=paho.MQTTv5)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        connected = threading.Event()
        self.client.on_connect = lambda *_a: connected.set()
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
        self.client.loop_start()
        if not connected.wait(10):
            raise RuntimeError(f"simulated school {site} could not connect")

    def _publish(self, topic: str, body: dict[str, Any], retain: bool = False) -> paho.MQTTMessageInfo:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = [("published_ms", str(self.now()))]
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return self.client.publish(f"{self.base}/{topic}", payload, qos=1, retain=retain, properties=props)

    def now(self) -> int:
        """The school's own clock, as wrong as `clock_offset_ms` makes it."""
        return _wall() + self.clock_offset_ms

    def publish_state(self, open_alarms: int = 0) -> None:
        now = self.now()
        self._publish(
            "status",
            {
                "site": {"id": self.site, "name": f"模拟学校{self.site}", "timezone": "Asia/Shanghai"},
                "police": {"configured": True, "state": "up", "outbox_depth": 0},
                "open_alarms": [
                    {"id": f"a{i}", "opened_at": iso_ms(now), "state": "open", "kind": "alarm.press"}
                    for i in range(open_alarms)
                ],
                "providers": {"uplink": {"configured": True, "connected": True, "backlog": 0}},
            },
            retain=True,
        )
        for dev_id, kind in self.devices:
            self._publish(f"devices/{dev_id}", {"id": dev_id, "type": kind, "state": "online"}, retain=True)

    def event(self, kind: str, device: str | None = None, payload: dict[str, Any] | None = None) -> str:
        with self.lock:
            self.seq += 1
            ev_id = str(uuid.uuid4())
            now = self.now()
            body = {
                "id": ev_id,
                "seq": self.seq,
                "ts_ms": now,
                "time": iso_ms(now),
                "site": self.site,
                "device_id": device or self.rng.choice(self.devices)[0],
                "kind": kind,
                "payload": payload or {},
                "test": False,
            }
            self._publish("events", body)
        return ev_id

    def background(self) -> str:
        """One event of the everyday mix: mostly camera checks, some device state changes."""
        r = self.rng.random()
        if r < 0.8:
            return self.event("camera.quality", payload={"verdict": "pass"})
        return self.event("device.online" if r < 0.9 else "device.offline", payload={"reason": "sim"})

    def press(self) -> str:
        return self.event("alarm.press", device=next(d for d, k in self.devices if k == "button"))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class SimCounty:
    def __init__(self, url: str, schools: int = 80, devices: int = 100, prefix: str = "county", seed: int = 1) -> None:
        rng = random.Random(seed)  # noqa: S311 - simulation, not cryptography
        self.schools = [SimSchool(url, prefix, f"sim-{i:04d}", devices, rng) for i in range(schools)]

    def publish_state(self) -> None:
        for s in self.schools:
            s.publish_state()

    def close(self) -> None:
        for s in self.schools:
            s.close()
