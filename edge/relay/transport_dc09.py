"""SIA DC-09 as a relay transport: the active receiver, the report's persisted sequence, failover.

The channel itself (framing, verification of replies) is edge.relay.dc09.channel; the receivers'
health and NULL supervision are edge.relay.supervision. A report's sequence number comes from the
sequence store, saved before the frame is sent, so every resend of it to the same receiver — after
a timeout, a failover back, or a crash — carries the same number.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from edge.config.police import Police
from edge.events import now_ms
from edge.relay.dc09 import content
from edge.relay.dc09.channel import Clock, Dc09Channel, Dc09Error, FrameBuilder, Receiver
from edge.relay.dc09.frame import Frame
from edge.relay.links import SENDS, LinkEvents
from edge.relay.message import PoliceMessage
from edge.relay.sequence import SequenceStore
from edge.relay.supervision import DEFAULT_LINE, Links
from edge.relay.transport import Delivery, TransportRetry, Unit

# The channel's names, for callers that knew them here.
__all__ = ["Clock", "Dc09Channel", "Dc09Error", "Dc09Transport", "FrameBuilder", "Receiver"]


class Dc09Transport:
    name = "dc09"

    def __init__(
        self,
        config: Police,
        sequences: SequenceStore,
        events: LinkEvents,
        *,
        key: bytes | None,
        clock: Callable[[], float],
        on_ready: Callable[[], None],
    ) -> None:
        self.config = config
        self._sequences = sequences
        self.links = Links(config, sequences, events, key=key, clock=clock, on_ready=on_ready)

    async def deliver(self, message: PoliceMessage) -> Delivery:
        link = self.links.receivers[self.links.active]
        seq = await asyncio.to_thread(self._sequences.for_report, message.event_id, link.url)
        started = now_ms()
        try:
            await link.reports.send(self._builder(message), seq)
        except Dc09Error as exc:
            SENDS.labels("dc09", exc.reason).inc()
            switched = await self.links.report_failed(link, f"{exc.reason}: {exc}", started)
            raise TransportRetry(f"{link.url}: {exc}", immediate=switched) from exc
        await self.links.report_acked(link)
        return Delivery(link.url, seq)

    def settle(self, conn: sqlite3.Connection, event_id: str) -> None:
        self._sequences.forget(conn, event_id)

    def units(self) -> dict[str, Unit]:
        return {f"relay-null-{link.device_id}": partial(self.links.supervise, link) for link in self.links.receivers}

    def status(self) -> dict[str, Any]:
        return self.links.status()

    async def close(self) -> None:
        await self.links.close()

    def _builder(self, message: PoliceMessage) -> FrameBuilder:
        cfg = self.config
        coords = (cfg.coordinates.x, cfg.coordinates.y) if cfg.coordinates else None

        def build(seq: int, ts: datetime) -> Frame:
            return content.message_frame(
                message,
                fmt=cfg.format,
                account=cfg.account,
                sequence=seq,
                timestamp=ts,
                receiver=cfg.receiver,
                line=cfg.line or DEFAULT_LINE,
                site_coordinates=coords,
            )

        return build
