"""Simulated MQTT alarm buttons: one paho client each, with a Last Will, heartbeats, press and release.

Topics and payloads are the ones the mqtt_buttons driver reads (DESIGN.md section 4):
``<prefix>/buttons/<id>/event`` with ``{"type": "press"|"release"|"heartbeat", "ts": ms, "seq": n}``
and ``<prefix>/buttons/<id>/status`` ``online``/``offline`` (retained; ``offline`` is the Will).
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

# Keepalive short enough that a "power cut" (socket dropped) makes the broker send the Will in ~8 s.
KEEPALIVE_S = 5
CONNECT_TIMEOUT_S = 5.0
PUBLISH_TIMEOUT_S = 5.0


class SimMqttButton:
    def __init__(self, url: str, prefix: str, button_id: str) -> None:
        self.url, self.id = url, button_id
        self.base = f"{prefix.rstrip('/')}/buttons/{button_id}"
        self.seq = 0
        self.client: paho.Client | None = None
        self._lock = threading.Lock()

    @property
    def powered(self) -> bool:
        return self.client is not None

    def power_on(self) -> None:
        parts = urlsplit(self.url)
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-button-{self.id}")
        client.will_set(f"{self.base}/status", b"offline", qos=1, retain=True)
        connected = threading.Event()
        client.on_connect = lambda *_a: connected.set()
        client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=KEEPALIVE_S)
        client.loop_start()
        if not connected.wait(CONNECT_TIMEOUT_S):
            client.loop_stop()
            raise RuntimeError(f"simulated button {self.id} could not connect to {self.url}")
        self.client = client
        client.publish(f"{self.base}/status", b"online", qos=1, retain=True).wait_for_publish(PUBLISH_TIMEOUT_S)

    def power_off(self) -> None:
        """Drop the connection without DISCONNECT, as a power cut does: the broker publishes the Will."""
        client, self.client = self.client, None
        if client is None:
            return
        sock = client.socket()
        client.loop_stop()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        """A clean shutdown at the end of the demo (no Will)."""
        client, self.client = self.client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def _event(self, kind: str) -> None:
        with self._lock:
            client = self.client
            if client is None:
                return  # an unpowered button sends nothing
            self.seq += 1
            body = json.dumps({"type": kind, "ts": time.time_ns() // 1_000_000, "seq": self.seq})
            client.publish(f"{self.base}/event", body, qos=1).wait_for_publish(PUBLISH_TIMEOUT_S)

    def press(self) -> None:
        self._event("press")

    def release(self) -> None:
        self._event("release")

    def heartbeat(self) -> None:
        self._event("heartbeat")
