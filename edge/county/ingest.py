"""The county's MQTT side: shared subscriptions in, batches to PostgreSQL, acknowledgements after commit.

Messages are acknowledged by hand (`manual_ack`) and only after their batch is committed, so an
instance killed mid-batch leaves them unacknowledged in its session and the broker delivers them
again: at-least-once in, exactly-once in the database by event id. With `$share/<group>/...`
each message goes to one instance of the group, so several instances split the schools' load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from prometheus_client import Counter, Gauge

from edge.county.config import CountyMqtt
from edge.county.store import CountyStore, Message
from edge.metrics import bad_input
from edge.mqtt_close import close_client
from edge.uplink.client import Endpoint, build_client, connect_async

log = logging.getLogger(__name__)

RECEIVED = Counter("edge_county_messages_total", "Messages written to the county store", ["kind"])
DUPLICATES = Counter("edge_county_duplicate_events_total", "Events already in the store (redeliveries)")
CONNECTED = Gauge("edge_county_mqtt_connected", "1 while this instance is connected to the broker")
WRITE_ERRORS = Counter("edge_county_write_errors_total", "Batches the database refused (retried)")

SUFFIXES = ("status", "events", "devices/+", "report/+")
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Inbound:
    msg: paho.MQTTMessage
    received_ms: int
    generation: int


def classify(prefix: str, topic: str, payload: bytes, published_ms: int, received_ms: int) -> Message | None:
    """The message as a store row, or None for a topic or body that is not ours (counted as bad input)."""
    parts = topic.split("/")
    head = prefix.split("/")
    if parts[: len(head)] != head or len(parts) < len(head) + 2:
        bad_input(log, "county", "topic", topic)
        return None
    school, rest = parts[len(head)], parts[len(head) + 1 :]
    try:
        body = json.loads(payload)
    except ValueError:
        bad_input(log, "county", "json", topic)
        return None
    if not isinstance(body, dict):
        bad_input(log, "county", "json", topic)
        return None
    if rest == ["status"]:
        return Message("status", school, "", body, published_ms, received_ms)
    if rest == ["events"]:
        if not all(k in body for k in ("id", "seq", "ts_ms", "device_id", "kind")):
            bad_input(log, "county", "event", topic)
            return None
        return Message("event", school, "", body, published_ms, received_ms)
    if len(rest) == 2 and rest[0] == "devices":
        return Message("device", school, rest[1], body, published_ms, received_ms)
    if len(rest) == 2 and rest[0] == "report" and len(rest[1]) == 10:
        return Message("report", school, rest[1], body, published_ms, received_ms)
    bad_input(log, "county", "topic", topic)
    return None


def _published_ms(msg: paho.MQTTMessage, default: int) -> int:
    props = getattr(msg, "properties", None)
    for key, value in getattr(props, "UserProperty", None) or []:
        if key == "published_ms":
            with contextlib.suppress(ValueError):
                return int(value)
    return default


class Ingest:
    def __init__(self, cfg: CountyMqtt, store: CountyStore, batch: int = 500) -> None:
        self.cfg, self.store, self.batch = cfg, store, batch
        self.ep = Endpoint(cfg.url, cfg.username, cfg.password_file, cfg.ca_file, cfg.client_id, cfg.keepalive)
        self.queue: asyncio.Queue[Inbound] = asyncio.Queue()
        self.connected = False
        self.generation = 0
        self.written = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None

    @property
    def topics(self) -> list[str]:
        return [f"$share/{self.cfg.share_group}/{self.cfg.topic_prefix}/+/{s}" for s in SUFFIXES]

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "client_id": self.cfg.client_id,
            "written": self.written,
            "queued": self.queue.qsize(),
        }

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = self._client = build_client(self.ep, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        connect_async(client, self.ep)
        client.loop_start()
        try:
            while True:
                await self._drain()
        finally:
            CONNECTED.set(0)
            await asyncio.to_thread(self._stop, client)

    @staticmethod
    def _stop(client: paho.Client) -> None:
        close_client(client)

    async def _drain(self) -> None:
        items = [await self.queue.get()]
        while len(items) < self.batch and not self.queue.empty():
            items.append(self.queue.get_nowait())
        rows = []
        for it in items:
            m = classify(
                self.cfg.topic_prefix,
                it.msg.topic,
                bytes(it.msg.payload),
                _published_ms(it.msg, it.received_ms),
                it.received_ms,
            )
            if m is not None:
                rows.append(m)
        while True:
            try:
                new = await asyncio.to_thread(self.store.write, rows)
                break
            except Exception:  # the database is away: keep the batch (unacked) and try again
                WRITE_ERRORS.inc()
                log.exception("county: writing %d message(s) failed; retrying", len(rows))
                await asyncio.sleep(RETRY_S)
        events = sum(1 for m in rows if m.kind == "event")
        DUPLICATES.inc(events - new)
        for m in rows:
            RECEIVED.labels(kind=m.kind).inc()
        self.written += len(rows)
        client = self._client
        for it in items:  # in arrival order, as MQTT wants acknowledgements
            if client is not None and it.msg.qos > 0 and it.generation == self.generation:
                client.ack(it.msg.mid, it.msg.qos)

    # -- paho network thread below --
    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, rc: ReasonCode, _p: Any = None) -> None:
        if rc.is_failure:
            log.warning("county: broker refused the connection: %s", rc)
            return
        self.generation += 1
        self.connected = True
        CONNECTED.set(1)
        log.info("county: connected as %s (session present: %s)", self.cfg.client_id, flags.session_present)
        client.subscribe([(t, SubscribeOptions(qos=1)) for t in self.topics])

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any = None) -> None:
        self.connected = False
        CONNECTED.set(0)
        log.warning("county: disconnected: %s; reconnecting", rc)

    def _on_message(self, _c: paho.Client, _u: Any, m: paho.MQTTMessage) -> None:
        item = Inbound(m, time.time_ns() // 1_000_000, self.generation)
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.queue.put_nowait, item)
