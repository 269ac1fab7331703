"""The uplink's MQTT 5 connection: paho's network thread, bridged to asyncio by a wake-up event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.mqtt_close import close_client
from edge.uplink.client import Endpoint, build_client, connect_async

log = logging.getLogger(__name__)

QOS = 1
# MQTT 5 PUBACK reason 0x10: accepted, but nobody subscribes (no county instance is listening, e.g. a
# mosquitto that restarted has forgotten the county's shared subscription until it subscribes again).
NO_MATCHING_SUBSCRIBERS = 0x10
UNHEARD_MAX = 4096  # remembered at most; retained publishes may add entries nobody asks about


class UplinkLink:
    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.connected = False
        self.connects = 0
        self.last_error = ""
        self.refused: str | None = None  # a PUBACK with a failure code (an ACL that forbids our topic)
        # mid -> when a PUBACK said "no matching subscribers" (monotonic): such an event reached nobody.
        self.unheard: dict[int, float] = {}
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = build_client(self.ep)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        connect_async(client, self.ep)
        client.loop_start()
        self._client = client

    def stop(self) -> None:
        """Blocking (joins paho's thread): call via asyncio.to_thread."""
        client, self._client = self._client, None
        if client is not None:
            close_client(client)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> paho.MQTTMessageInfo:
        if self._client is None:
            raise RuntimeError("uplink link is not started")
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        # When it was published: the county keeps the newest retained object whichever instance got it first.
        props.UserProperty = [("published_ms", str(time.time_ns() // 1_000_000))]
        props.ContentType = "application/json"
        return self._client.publish(topic, payload, qos=QOS, retain=retain, properties=props)

    # -- paho network thread below: never block, never raise --

    def _kick(self) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.wake.set)

    def _on_connect(self, _c: paho.Client, _u: Any, flags: Any, rc: ReasonCode, _p: Any = None) -> None:
        if rc.is_failure:
            self.last_error = f"connect refused: {rc}"
            log.warning("uplink: %s:%s refused the connection: %s", self.ep.host, self.ep.port, rc)
            return
        self.connected = True
        self.connects += 1
        self.last_error = ""
        log.info("uplink: connected to %s:%s (session present: %s)", self.ep.host, self.ep.port, flags.session_present)
        self._kick()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any = None) -> None:
        if self.connected:
            log.warning("uplink: lost %s:%s: %s; reconnecting with back-off", self.ep.host, self.ep.port, rc)
        self.connected = False
        self.last_error = f"disconnected: {rc}"
        self._kick()

    def _on_publish(self, _c: paho.Client, _u: Any, mid: int, rc: ReasonCode, _p: Any = None) -> None:
        if rc.is_failure:
            self.refused = f"publish {mid} refused: {rc}"
        elif rc.value == NO_MATCHING_SUBSCRIBERS:
            unheard = self.unheard
            if len(unheard) >= UNHEARD_MAX:  # keep the newer half (a new dict: the loop may be reading)
                unheard = dict(sorted(unheard.items(), key=lambda kv: kv[1])[UNHEARD_MAX // 2 :])
            unheard[mid] = time.monotonic()
            self.unheard = unheard
        self._kick()

    def reached_nobody(self, mid: int, sent_at: float) -> bool:
        """Whether the PUBACK of the message sent as `mid` at `sent_at` said no one subscribes (an
        older entry for a reused mid is not this message's)."""
        at = self.unheard.pop(mid, None)
        return at is not None and at >= sent_at
