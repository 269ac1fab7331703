"""paho-mqtt 2.x on its own network thread, bridged into asyncio without blocking the loop.

Why paho's `loop_start` thread rather than an external-loop socket integration: paho's thread
handles keep-alive, reconnect with back-off and QoS 1 retries by itself and is the path its
maintainers test most; the thread only hands messages over with `call_soon_threadsafe`.
Messages are acknowledged manually (`manual_ack=True`), and only after the driver has committed
them, so a crash between receipt and commit makes the broker redeliver (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.config.models import Mqtt
from edge.config.secrets import read_secret
from edge.events import now_ms
from edge.mqtt_close import close_client

log = logging.getLogger(__name__)

QOS = 1  # at-least-once: presses must survive broker and daemon restarts


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    received_ms: int  # the moment first seen, taken on the network thread
    generation: int  # which connection delivered it; acks go only to that connection


class MqttLink:
    """One paho client with a persistent session, subscribed to `topics`, feeding `queue`."""

    def __init__(self, cfg: Mqtt, client_id: str, topics: list[str]) -> None:
        self.cfg = cfg
        self.client_id = client_id
        self.topics = topics
        parts = urlsplit(cfg.url)
        self.tls = parts.scheme == "mqtts"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.connected = False
        self.subscribed = False  # SUBACK received on the current connection
        self.generation = 0
        self.connects = 0
        self.last_disconnect = ""
        self.queue: asyncio.Queue[Inbound] = asyncio.Queue()
        # paho's thread hands messages over through this deque and wakes the loop only when no wake-up
        # is pending: in a burst (500 buttons' heartbeats) one self-pipe write carries many messages.
        self._inbox: deque[Inbound] = deque()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None

    def _build(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,  # persistent session: the broker queues QoS 1 while we are away
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        if self.cfg.username is not None:
            client.username_pw_set(self.cfg.username, read_secret(self.cfg.password_file))
        if self.tls:
            ca = str(self.cfg.ca_file) if self.cfg.ca_file else None
            client.tls_set(ca_certs=ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(self.cfg.reconnect_min_delay, self.cfg.reconnect_max_delay)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = self._build()
        # connect_async + loop_start: the first connection is retried by paho's thread too.
        self._client.connect_async(self.host, self.port, keepalive=self.cfg.keepalive)
        self._client.loop_start()

    def stop(self) -> None:
        """Blocking (joins paho's thread): call via asyncio.to_thread."""
        client, self._client = self._client, None
        if client is not None:
            close_client(client)

    def ack(self, msg: Inbound) -> None:
        client = self._client
        if msg.qos == 0 or client is None or msg.generation != self.generation:
            return  # a stale delivery: the broker redelivers it on the current connection
        client.ack(msg.mid, msg.qos)

    # -- paho network thread below: hand over, never block, never raise --

    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, rc: ReasonCode, _p: Any = None) -> None:
        if rc.is_failure:
            log.warning("mqtt %s:%s refused: %s", self.host, self.port, rc)
            return
        self.generation += 1
        self.connects += 1
        self.connected = True
        log.info("mqtt connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe([(t, QOS) for t in self.topics])

    def _on_subscribe(self, _c: paho.Client, _u: Any, _mid: int, rcs: list[ReasonCode], _p: Any = None) -> None:
        refused = [str(rc) for rc in rcs if rc.is_failure]
        if refused:
            log.error("mqtt subscription refused by the broker: %s (check its ACL)", ", ".join(refused))
        else:
            self.subscribed = True

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any = None) -> None:
        self.connected = False
        self.subscribed = False
        self.last_disconnect = str(rc)
        log.warning("mqtt disconnected from %s:%s: %s; paho reconnects with back-off", self.host, self.port, rc)

    def _on_message(self, _c: paho.Client, _u: Any, m: paho.MQTTMessage) -> None:
        item = Inbound(m.topic, bytes(m.payload), m.mid, m.qos, bool(m.retain), now_ms(), self.generation)
        loop = self._loop
        if loop is None:
            return
        self._inbox.append(item)
        if not self._wake_pending:  # only this thread sets it; only the loop clears it, before it drains
            self._wake_pending = True
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown: unacked, redelivered later
                loop.call_soon_threadsafe(self._pump)

    def _pump(self) -> None:
        """On the loop: move what paho's thread handed over into `queue`, in arrival order."""
        self._wake_pending = False  # cleared first: a message appended from now on schedules a new pump
        inbox, put = self._inbox, self.queue.put_nowait
        while inbox:
            put(inbox.popleft())
