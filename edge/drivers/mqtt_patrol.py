"""Patrol readers and apps over MQTT: `<prefix>/patrol/<reader>/checkin` with
``{"tag": "04A1B2C3D4", "ts": 1764400000, "guard": "张三"}`` (ts in seconds; `note` optional).

Its own client, so a flood of patrol messages never queues in front of a button's press. Each
check-in is committed before the broker gets its PUBACK (at-least-once); a redelivery is a
duplicate the store ignores. Bad messages are logged, counted and acknowledged (a retry of a
malformed message would be rejected again).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client import Counter

from edge.config.models import Mqtt
from edge.config.patrol import Patrol
from edge.drivers.base import Driver, DriverContext, RecordCheckins
from edge.drivers.mqtt_client import Inbound, MqttLink
from edge.drivers.registry import register
from edge.events import now_ms
from edge.metrics import bad_input
from edge.patrol.checkin import Checkin, CheckinError, Source, make_checkin

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

MAX_PAYLOAD = 4096
STOP_TIMEOUT_S = 5.0
CHECKINS = Counter(
    "edge_patrol_checkins_total", "Patrol check-ins received, by source and outcome", ["source", "outcome"]
)


def parse_checkin(patrol: Patrol, topic: str, prefix: str, payload: bytes, now: int) -> Checkin:
    """One MQTT message -> a check-in; CheckinError says what is wrong with it."""
    head = f"{prefix}/patrol/"
    rest = topic[len(head) :].split("/") if topic.startswith(head) else []
    if len(rest) != 2 or not rest[0] or rest[1] != "checkin":
        raise CheckinError(f"not a patrol check-in topic: {topic[:120]}")
    if len(payload) > MAX_PAYLOAD:
        raise CheckinError(f"payload of {len(payload)} bytes is too large")
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckinError(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CheckinError("not a JSON object")
    tag, ts, guard, note = body.get("tag"), body.get("ts"), body.get("guard", ""), body.get("note", "")
    if not isinstance(tag, str):
        raise CheckinError("'tag' must be a string")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise CheckinError("'ts' must be a number of seconds since 1970")
    if not isinstance(guard, str) or not isinstance(note, str):
        raise CheckinError("'guard' and 'note' must be strings")
    return make_checkin(
        patrol, tag=tag, ts_s=ts, guard=guard, note=note, source=Source.MQTT, now_ms=now, reader=rest[0]
    )


@register
class MqttPatrol(Driver):
    type: ClassVar[str] = "mqtt_patrol"

    def __init__(self, cfg: Mqtt, patrol: Patrol, ctx: DriverContext, record: RecordCheckins, client_id: str) -> None:
        super().__init__("mqtt-patrol", ctx)
        self.cfg = cfg
        self.patrol = patrol
        self.record = record
        self.prefix = cfg.topic_prefix.rstrip("/")
        self.link = MqttLink(cfg, client_id, [f"{self.prefix}/patrol/+/checkin"])
        self.counts: dict[str, int] = {}

    @classmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        if config.mqtt is None or config.patrol is None or ctx.record_checkins is None:
            return []
        client_id = f"{config.mqtt.client_id or f'edge-{config.site.id}'}-patrol"
        return [cls(config.mqtt, config.patrol, ctx, ctx.record_checkins, client_id)]

    async def run(self) -> None:
        self.link = MqttLink(self.cfg, self.link.client_id, self.link.topics)  # fresh queue per run
        self.link.start()
        try:
            while True:
                msg = await self.link.queue.get()
                await self._handle(msg)
                self.link.ack(msg)
        finally:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.to_thread(self.link.stop)

    def _count(self, outcome: str) -> None:
        CHECKINS.labels(source="mqtt", outcome=outcome).inc()
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    async def _handle(self, msg: Inbound) -> None:
        try:
            checkin = parse_checkin(self.patrol, msg.topic, self.prefix, msg.payload, now_ms())
        except CheckinError as exc:
            self._count("rejected")
            bad_input(log, "patrol", "rejected", f"topic {msg.topic[:120]}: {exc}")
            return
        added = await self.record([checkin])
        self._count("recorded" if added else "duplicate")

    def diagnostics(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "broker": f"{self.link.host}:{self.link.port}",
            "connected": self.link.connected,
            "subscribed": self.link.subscribed,
            "messages": dict(self.counts),
        }
