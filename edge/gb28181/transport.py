"""GB/T 28181 as the relay's third transport: alarm Notify MESSAGEs through the durable outbox.

Nothing is sent while unregistered (the row waits, in order); a 200 OK is the delivery, anything
else is retried by the delivery loop's back-off. A report for a device whose channel ID was
removed by a reload cannot be placed on any channel: rejected, so it never blocks the queue.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from edge.events import now_ms
from edge.gb28181.alarm import CODES, notify_body
from edge.gb28181.channels import Channel
from edge.gb28181.device import GbDevice
from edge.gb28181.endpoint import SipTimeout
from edge.relay.links import SENDS
from edge.relay.message import PoliceCode, PoliceMessage
from edge.relay.transport import Delivery, TransportRejected, TransportRetry, Unit


class Gb28181Transport:
    name = "gb28181"

    def __init__(self, device: GbDevice) -> None:
        self.device = device

    def _channel(self, device_id: str) -> Channel | None:
        return next((c for c in self.device.channels if c.device_id == device_id), None)

    async def deliver(self, message: PoliceMessage) -> Delivery:
        dev = self.device
        ch = self._channel(message.device_id)
        if ch is None or message.code not in CODES:
            raise TransportRejected(f"{message.device_id} has no GB/T 28181 channel for {message.code.name}")
        if not dev.registered:
            SENDS.labels(self.name, "unregistered").inc()
            raise TransportRetry("not registered with the GB/T 28181 platform")
        sn = dev.next_sn()
        try:
            resp = await dev.message(notify_body(message, ch, sn, dev.config.charset))
        except (SipTimeout, ConnectionError) as exc:
            SENDS.labels(self.name, "timeout").inc()
            raise TransportRetry(str(exc)) from exc
        if not 200 <= resp.status < 300:
            SENDS.labels(self.name, f"status_{resp.status}").inc()
            raise TransportRetry(f"alarm answered {resp.status} {resp.reason}")
        dev.last_alarm_ms = now_ms()
        if message.code in (PoliceCode.PANIC, PoliceCode.TAMPER):
            dev.alarmed.add(ch.gb_id)  # DutyStatus ALARM until the platform's ResetAlarm
        return Delivery(dev.server_uri, sn)

    def settle(self, conn: sqlite3.Connection, event_id: str) -> None:
        """Nothing is kept per report: each attempt carries a fresh SN."""

    def units(self) -> dict[str, Unit]:
        return {"gb28181-sip": self.device.run}

    def status(self) -> dict[str, Any]:
        return {"gb28181": self.device.status()}

    async def close(self) -> None:
        """The SIP unit unregisters and closes its endpoint when it is cancelled."""
