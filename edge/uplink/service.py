"""The uplink unit: the school's status, devices, events and daily figures to the county broker.

Events go in store order (`seq`), QoS 1, at most `inflight` unacknowledged and `max_rate` per
second, so a backlog of hours drains steadily without crowding the store or the CPU the alarm
path needs. The position advances only over events the broker acknowledged and somebody subscribes to
(an MQTT 5 "no matching subscribers" acknowledgement sends the event again later), and is saved at most
once a second: after a crash the county may see a few events twice (it keeps one per event id),
never a gap. The uplink reads through the store's read connection and writes only its meta row,
so it never waits on, or holds up, the runtime's writer or the police relay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
from prometheus_client import Counter, Gauge

from edge.config import Config
from edge.config.uplink import Uplink
from edge.events import iso_ms, now_ms
from edge.store.db import Database
from edge.uplink.client import Endpoint
from edge.uplink.link import UplinkLink
from edge.uplink.position import backlog, event_message, load_position, read_after, save_position

log = logging.getLogger(__name__)

CONNECTED = Gauge("edge_uplink_connected", "1 while the county broker connection is up")
BACKLOG = Gauge("edge_uplink_backlog_events", "Events not yet acknowledged by the county broker")
OLDEST = Gauge("edge_uplink_oldest_unsent_age_seconds", "Age of the oldest event not yet acknowledged (0: none)")
PUBLISHED = Counter("edge_uplink_published_total", "Messages acknowledged by the county broker", ["topic"])
REFUSED = Counter("edge_uplink_refused_total", "Publishes the county broker refused (ACL)")
UNHEARD = Counter(
    "edge_uplink_unheard_total", "Events the county broker accepted with no subscriber (sent again later)"
)

SAVE_EVERY_S = 1.0  # the position row is written at most this often
GAUGES_EVERY_S = 1.0
STATUS_MIN_GAP_S = 1.0  # a burst of commits publishes the status once a second at most
DEVICE_REFRESH_S = 300.0  # every device object is republished this often even unchanged
REPORT_EVERY_S = 3600.0  # yesterday's and today's figures are republished hourly
REFUSED_PAUSE_S = 30.0
UNHEARD_PAUSE_S = 1.0  # no county instance subscribed yet: try again this much later
# Device fields that move with every heartbeat: a change there alone does not republish the object.
VOLATILE = ("last_seen",)

StatusFn = Callable[[], dict[str, Any]]
DevicesFn = Callable[[], list[dict[str, Any]]]
ReportFn = Callable[[date], dict[str, Any] | None]


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.at = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class UplinkService:
    def __init__(self, config: Config, db: Database, status: StatusFn, devices: DevicesFn, report: ReportFn) -> None:
        if config.uplink is None:
            raise ValueError("no uplink section")
        self.cfg: Uplink = config.uplink
        self.site = config.site.id
        self.tz = ZoneInfo(config.site.timezone)
        self.db = db
        self.status_fn, self.devices_fn, self.report_fn = status, devices, report
        self.base = f"{self.cfg.topic_prefix}/{self.site}"
        self.link: UplinkLink | None = None
        self.position = 0
        self.inflight = 0
        self._backlog: tuple[int, int | None] = (0, None)
        self._changed = asyncio.Event()  # something was committed: new events, maybe a new status

    def endpoint(self) -> Endpoint:
        c = self.cfg
        return Endpoint(
            c.url, c.username, c.password_file, c.ca_file, c.client_id or f"edge-uplink-{self.site}", c.keepalive
        )

    def notify(self) -> None:
        """After each commit (on the loop): wake the event sender and mark the status for republishing."""
        self._changed.set()
        if self.link is not None:
            self.link.wake.set()

    def status(self) -> dict[str, Any]:
        link = self.link
        count, oldest = backlog(self.db, self.position)  # fresh: two indexed reads on the read connection
        return {
            "configured": True,
            "url": self.cfg.url,
            "topic_prefix": self.base,
            "connected": bool(link and link.connected),
            "last_error": (link.refused or link.last_error) if link else "",
            "position": self.position,
            "inflight": self.inflight,
            "backlog": count,
            "oldest_unsent_at": iso_ms(oldest) if oldest is not None else None,
            "oldest_unsent_age_s": round(max(0, now_ms() - oldest) / 1000, 1) if oldest is not None else None,
        }

    async def run(self) -> None:
        link = self.link = UplinkLink(self.endpoint())
        link.start()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._events(link), name="uplink-events")
                tg.create_task(self._snapshots(link), name="uplink-snapshots")
        finally:
            CONNECTED.set(0)
            await asyncio.to_thread(link.stop)

    # --- events -----------------------------------------------------------------------------------
    async def _events(self, link: UplinkLink) -> None:
        position = self.position = await asyncio.to_thread(load_position, self.db)
        sent, saved = position, position
        saved_at = gauges_at = 0.0
        inflight: deque[tuple[int, paho.MQTTMessageInfo, float]] = deque()
        bucket = TokenBucket(self.cfg.max_rate, self.cfg.inflight)
        topic = f"{self.base}/events"
        while True:
            link.wake.clear()
            if link.refused is not None:
                REFUSED.inc()
                log.error("uplink: the county broker refused an event (%s); retrying from %d", link.refused, position)
                await asyncio.sleep(REFUSED_PAUSE_S)
                raise RuntimeError(link.refused)  # the supervisor restarts us from the saved position
            position, unheard = _acknowledged(link, inflight, position)
            if unheard:
                # Accepted but stored by nobody: the position stays, and this event and all after it
                # go again once a county instance subscribes (it keeps one per event id).
                UNHEARD.inc()
                log.warning("uplink: no county subscriber for event %d; sending again from there", position + 1)
                inflight.clear()
                sent = position
                self.position, self.inflight = position, 0
                await asyncio.sleep(UNHEARD_PAUSE_S)
                continue
            self.position, self.inflight = position, len(inflight)
            now = time.monotonic()
            if position != saved and (not inflight or now - saved_at >= SAVE_EVERY_S):
                await asyncio.to_thread(save_position, self.db, position)
                saved, saved_at = position, now
            if now - gauges_at >= GAUGES_EVERY_S:
                await self._gauges(link, position)
                gauges_at = now
            room = self.cfg.inflight - len(inflight)
            if link.connected and room > 0:
                rows = await asyncio.to_thread(read_after, self.db, sent, room)
                for row in rows:
                    await bucket.take()
                    sent_at = time.monotonic()
                    inflight.append((int(row["seq"]), link.publish(topic, event_message(row)), sent_at))
                    sent = int(row["seq"])
                if rows:
                    continue
            try:
                async with asyncio.timeout(GAUGES_EVERY_S):
                    await link.wake.wait()
            except TimeoutError:
                pass

    async def _gauges(self, link: UplinkLink, position: int) -> None:
        self._backlog = await asyncio.to_thread(backlog, self.db, position)
        count, oldest = self._backlog
        CONNECTED.set(1 if link.connected else 0)
        BACKLOG.set(count)
        OLDEST.set(max(0, now_ms() - oldest) / 1000 if oldest is not None else 0)

    # --- retained objects -------------------------------------------------------------------------
    async def _snapshots(self, link: UplinkLink) -> None:
        status_at = devices_at = reports_at = -1e9
        devices: dict[str, str] = {}
        was_connected = False
        while True:
            now = time.monotonic()
            if link.connected:
                if not was_connected:  # a new connection: everything once more (the broker may be a fresh one)
                    status_at = devices_at = reports_at = -1e9
                if (self._changed.is_set() and now - status_at >= STATUS_MIN_GAP_S) or (
                    now - status_at >= self.cfg.status_interval
                ):
                    self._changed.clear()
                    status = await asyncio.to_thread(self.status_fn)
                    link.publish(f"{self.base}/status", _json(status), retain=True)
                    status_at = now
                    devices_at = await self._devices(link, devices, now - devices_at >= DEVICE_REFRESH_S, devices_at)
                if now - reports_at >= REPORT_EVERY_S:
                    await self._reports(link)
                    reports_at = now
            was_connected = link.connected
            await asyncio.sleep(0.25)

    async def _devices(self, link: UplinkLink, last: dict[str, str], refresh: bool, at: float) -> float:
        for device in await asyncio.to_thread(self.devices_fn):
            key = json.dumps({k: v for k, v in device.items() if k not in VOLATILE}, sort_keys=True, default=str)
            if refresh or last.get(device["id"]) != key:
                link.publish(f"{self.base}/devices/{device['id']}", _json(device), retain=True)
                last[device["id"]] = key
        return time.monotonic() if refresh else at

    async def _reports(self, link: UplinkLink) -> None:
        today = datetime.now(self.tz).date()
        for day in (today - timedelta(days=1), today):
            try:
                figures = await asyncio.to_thread(self.report_fn, day)
            except Exception:  # a report that cannot be computed must not stop events or status
                log.exception("uplink: the figures for %s could not be computed", day)
                continue
            if figures is not None:
                link.publish(f"{self.base}/report/{day.isoformat()}", _json(figures), retain=True)


def _acknowledged(
    link: UplinkLink, inflight: deque[tuple[int, paho.MQTTMessageInfo, float]], position: int
) -> tuple[int, bool]:
    """The position past the acknowledged head of `inflight`, and whether an event there reached nobody."""
    while inflight and inflight[0][1].is_published():
        seq, info, sent_at = inflight.popleft()
        if link.reached_nobody(info.mid, sent_at):
            return position, True
        position = seq
        PUBLISHED.labels(topic="events").inc()
    return position, False


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
