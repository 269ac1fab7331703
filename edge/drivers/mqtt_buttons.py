"""MQTT one-key buttons: `<prefix>/buttons/<id>/event` and `.../status`, with heartbeat deadlines.

One task consumes messages in arrival order; each is committed through `ctx.emit` and only then
acknowledged to the broker. A button is offline after `heartbeat_timeout` without a message, or at
once on its `offline` status (its Last Will); the next message brings it back.

A silence that was the gateway's own (the process stopped or starved: `edge.clock.StallWatch`) is
not held against a button: every deadline still running when the stall began is re-armed from the
moment the process resumed, and messages already received are handled before any deadline is judged.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client import Counter, Gauge

from edge.clock import LOOP_STALLS, StallWatch
from edge.config.devices import MqttButton
from edge.config.models import Mqtt
from edge.drivers.base import Driver, DriverContext
from edge.drivers.mqtt_client import Inbound, MqttLink
from edge.drivers.mqtt_payload import Rejected, parse_event, parse_status, parse_topic
from edge.drivers.registry import register
from edge.events import Event, EventKind, now_ms
from edge.metrics import bad_input
from edge.redact import mask

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

# QoS 1 redeliveries arrive within a few messages of the original; 32 recent keys per button cover
# a reconnect burst while keeping memory flat with hundreds of buttons.
DEDUP_WINDOW = 32

STOP_TIMEOUT_S = 5.0

MESSAGES = Counter("edge_mqtt_button_messages_total", "MQTT button messages by outcome", ["outcome"])
CONNECTED = Gauge("edge_mqtt_connected", "1 while the MQTT button client is connected")

_KINDS = {"press": EventKind.ALARM_PRESS, "release": EventKind.ALARM_RELEASE, "tamper": EventKind.DEVICE_TAMPER}


class _Button:
    __slots__ = ("cfg", "deadline", "online", "recent", "recent_set")

    def __init__(self, cfg: MqttButton, deadline: float) -> None:
        self.cfg = cfg
        self.online: bool | None = None
        self.deadline = deadline
        self.recent: deque[tuple[int, int | None]] = deque(maxlen=DEDUP_WINDOW)
        self.recent_set: set[tuple[int, int | None]] = set()

    def seen(self, key: tuple[int, int | None]) -> bool:
        """True if `key` (seq, device ts) was seen recently; otherwise remember it."""
        if key in self.recent_set:
            return True
        if len(self.recent) == self.recent.maxlen:
            self.recent_set.discard(self.recent[0])
        self.recent.append(key)
        self.recent_set.add(key)
        return False

    def forget(self) -> None:
        self.recent.clear()
        self.recent_set.clear()


@register
class MqttButtons(Driver):
    type: ClassVar[str] = "mqtt_buttons"

    def __init__(self, cfg: Mqtt, buttons: list[MqttButton], ctx: DriverContext, client_id: str) -> None:
        super().__init__("mqtt", ctx)
        self.cfg = cfg
        self.prefix = cfg.topic_prefix.rstrip("/")
        self.configs = {b.id: b for b in buttons}
        topics = [f"{self.prefix}/buttons/+/event", f"{self.prefix}/buttons/+/status"]
        self.link = MqttLink(cfg, client_id, topics)
        self.buttons: dict[str, _Button] = {}
        self._heap: list[tuple[float, str]] = []
        self.counts: dict[str, int] = {}
        self.stalls: StallWatch = LOOP_STALLS
        self._stall_cursor = 0
        self._out: list[Event] = []  # events of the messages handled since the last commit

    @classmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        buttons = [b for b in config.buttons if isinstance(b, MqttButton)]
        if config.mqtt is None or not buttons:
            return []
        client_id = config.mqtt.client_id or f"edge-{config.site.id}"
        return [cls(config.mqtt, buttons, ctx, client_id)]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.buttons = {i: _Button(c, start + c.heartbeat_timeout) for i, c in self.configs.items()}
        self._heap = [(b.deadline, i) for i, b in self.buttons.items()]
        heapq.heapify(self._heap)
        self._stall_cursor = self.stalls.count
        self.link = MqttLink(self.cfg, self.link.client_id, self.link.topics)  # fresh queue per run
        self.link.start()
        try:
            while True:
                self._rearm_after_stall(loop.time())
                if self._heap and self._heap[0][0] <= loop.time():
                    await self._drain(loop)  # a message already received may keep a button alive
                    await self._expire(loop.time())
                wait = self._heap[0][0] - loop.time() if self._heap else None
                try:
                    async with asyncio.timeout(wait):
                        msg = await self.link.queue.get()
                except TimeoutError:
                    continue
                CONNECTED.set(1 if self.link.connected else 0)
                await self._handle(msg, loop.time())
                await self._drain(loop, first=msg)
        finally:
            CONNECTED.set(0)
            # paho's thread wakes at least once a second, so joining it is quick; bounded anyway.
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.to_thread(self.link.stop)

    def _count(self, outcome: str) -> None:
        MESSAGES.labels(outcome=outcome).inc()
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def _rearm_after_stall(self, now: float) -> None:
        """After the process itself was stopped, judge each button's silence from the resume on."""
        self._stall_cursor, stalls = self.stalls.since(self._stall_cursor)
        if not stalls:
            return
        began = stalls[0].start_mono
        for b in self.buttons.values():
            if b.deadline > began:  # still alive when we stopped: its silence since is ours
                b.deadline = now + b.cfg.heartbeat_timeout
        self._heap = [(b.deadline, i) for i, b in self.buttons.items() if b.deadline > now]
        heapq.heapify(self._heap)

    async def _drain(self, loop: asyncio.AbstractEventLoop, first: Inbound | None = None) -> None:
        """Handle the messages queued so far (bounded: not those arriving meanwhile), commit what they
        produced in one transaction, and only then acknowledge them: a burst of 500 buttons' first
        heartbeats costs one fsync, not 500, and nothing is acked before it is in the store."""
        handled = [] if first is None else [first]
        for _ in range(self.link.queue.qsize()):
            msg = self.link.queue.get_nowait()
            await self._handle(msg, loop.time())
            handled.append(msg)
        await self._flush()
        for msg in handled:
            self.link.ack(msg)

    async def _flush(self) -> None:
        events, self._out = self._out, []
        await self.ctx.emit_all(events)

    async def _expire(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, bid = heapq.heappop(self._heap)
            b = self.buttons[bid]
            if b.deadline > now:  # re-armed by a message since: wait for the new deadline
                heapq.heappush(self._heap, (b.deadline, bid))
                continue
            if b.online is not False:
                timeout = b.cfg.heartbeat_timeout
                log.warning("mqtt button %s silent for %.1f s: offline", bid, timeout)
                self._availability(b, False, now_ms(), {"reason": "heartbeat_timeout", "timeout_s": timeout})
        await self._flush()

    def _availability(self, b: _Button, online: bool, ts_ms: int, extra: dict[str, Any]) -> None:
        b.online = online
        kind = EventKind.DEVICE_ONLINE if online else EventKind.DEVICE_OFFLINE
        payload = {"type": "button", "transport": "mqtt", **extra}
        self._out.append(Event(kind, b.cfg.id, payload, ts_ms=ts_ms))

    def _alive(self, b: _Button, now: float) -> None:
        was_armed = b.deadline > now
        b.deadline = now + b.cfg.heartbeat_timeout
        if not was_armed:  # its heap entry was consumed when it expired: arm a new one
            heapq.heappush(self._heap, (b.deadline, b.cfg.id))

    async def _handle(self, msg: Inbound, now: float) -> None:
        parsed = parse_topic(msg.topic, self.prefix)
        if parsed is None:
            self._count("bad_topic")
            bad_input(log, "mqtt", "bad_topic", msg.topic[:120])
            return
        bid, channel = parsed
        b = self.buttons.get(bid)
        if b is None:
            self._count("unknown_button")
            bad_input(log, "mqtt", "unknown_button", msg.topic[:120])
            return
        if channel == "status":
            await self._status(b, msg, now)
            return
        m = parse_event(msg.payload, b.cfg.mapping)
        if isinstance(m, Rejected):
            self._count("malformed")
            bad_input(log, "mqtt", m.reason, f"topic {msg.topic}: {m.detail}")
            return
        if m.seq is not None and b.seen((m.seq, m.ts_ms)):
            self._count("duplicate")
            log.debug("mqtt button %s: duplicate seq %s dropped", bid, m.seq)
            return
        self._alive(b, now)
        if b.online is not True:
            self._availability(b, True, msg.received_ms, {"reason": "message"})
        kind = _KINDS.get(m.type)
        self._count(m.type)
        if kind is None:
            return  # heartbeat: liveness only
        payload: dict[str, Any] = {"transport": "mqtt", "topic": msg.topic, "seq": m.seq, "device_ts": m.ts_ms}
        if kind is EventKind.DEVICE_TAMPER:
            payload["state"] = "active"
        self._out.append(Event(kind, bid, payload, ts_ms=msg.received_ms))

    async def _status(self, b: _Button, msg: Inbound, now: float) -> None:
        status = parse_status(msg.payload)
        if isinstance(status, Rejected):
            self._count("malformed")
            bad_input(log, "mqtt", status.reason, f"topic {msg.topic}: {status.detail}")
            return
        self._count(f"status_{status}")
        if status == "offline":
            if b.online is not False:
                log.warning("mqtt button %s reported offline (last will)", b.cfg.id)
                self._availability(b, False, msg.received_ms, {"reason": "lwt", "retained": msg.retain})
            return
        b.forget()  # a device announcing itself again may have restarted its seq counter
        self._alive(b, now)
        if b.online is not True:
            self._availability(b, True, msg.received_ms, {"reason": "status"})

    def diagnostics(self) -> dict[str, Any]:
        states = {i: {None: "unknown", True: "online", False: "offline"}[b.online] for i, b in self.buttons.items()}
        return {
            "type": self.type,
            "name": self.name,
            "broker": f"{self.link.host}:{self.link.port}",
            "tls": self.link.tls,
            "username": self.cfg.username,
            "password": mask(self.cfg.password_file),
            "client_id": self.link.client_id,
            "connected": self.link.connected,
            "subscribed": self.link.subscribed,
            "connects": self.link.connects,
            "last_disconnect": self.link.last_disconnect,
            "messages": dict(self.counts),
            "buttons": states,
        }
