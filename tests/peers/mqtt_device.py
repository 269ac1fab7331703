"""A simulated MQTT button (or a vendor device): a real paho client publishing to the broker."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class Device:
    """Publishes `<prefix>/buttons/<id>/event|status`; `will=True` sets status `offline` as its Last Will."""

    def __init__(self, url: str, prefix: str, button_id: str, will: bool = True, client_id: str | None = None) -> None:
        parts = urlsplit(url)
        self.base = f"{prefix}/buttons/{button_id}"
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"dev-{prefix}-{button_id}")
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        if will:
            self.client.will_set(f"{self.base}/status", b"offline", qos=1, retain=True)
        self._connected = threading.Event()
        self.client.on_connect = lambda *a: self._connected.set()
        self.client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=5)
        self.client.loop_start()
        if not self._connected.wait(5):
            raise RuntimeError("device could not connect")

    def status(self, word: str) -> None:
        self.client.publish(f"{self.base}/status", word.encode(), qos=1, retain=True).wait_for_publish(5)

    def raw(self, payload: bytes | str, wait: bool = True) -> paho.MQTTMessageInfo:
        info = self.client.publish(f"{self.base}/event", payload, qos=1)
        if wait:
            info.wait_for_publish(5)
        return info

    def event(self, kind: str, wait: bool = True, **fields: Any) -> paho.MQTTMessageInfo:
        return self.raw(json.dumps({"type": kind, **fields}), wait)

    def die(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a power cut would: the broker sends the will."""
        sock = self.client.socket()
        self.client.loop_stop()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
