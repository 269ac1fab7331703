"""The DC-09 receivers as links: which one is active, up/down state, failover and NULL supervision.

Traffic goes to the active receiver. After `failover_after_failures` failures or
`failover_after_seconds` of failing it moves to the next one (preferring one not known to be down),
and it returns to the primary as soon as a supervision NULL to the primary is acknowledged. Every
state change is a `relay.link` event: {"receiver", "state": "up"|"down", "reason"}.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from edge.config.police import Police
from edge.events import Event, EventKind, now_ms
from edge.relay.dc09 import content
from edge.relay.dc09.frame import Frame
from edge.relay.links import LINK_UP, SENDS, Link, LinkState, ReceiverLink, receiver_device_id
from edge.relay.sequence import SequenceAllocator
from edge.relay.transport_dc09 import Clock, Dc09Channel, Dc09Error, Receiver
from edge.store.db import Database

log = logging.getLogger(__name__)

Emit = Callable[[Event], Awaitable[None]]
# Default DC-09 line number: pysiaalarm-class receivers require an L field, DC-09 allows any hex.
DEFAULT_LINE = "0"


class Links:
    def __init__(
        self,
        config: Police,
        db: Database,
        emit: Emit,
        site_id: str,
        *,
        key: bytes | None,
        clock: Callable[[], float],
        on_primary_back: Callable[[], None],
    ) -> None:
        self.config = config
        self._emit = emit
        self._site_id = site_id
        self._on_primary_back = on_primary_back
        self.receivers = [self._make(i, url, db, key, clock) for i, url in enumerate(config.receivers)]
        self.active = 0

    def _make(self, index: int, url: str, db: Database, key: bytes | None, clock: Callable[[], float]) -> ReceiverLink:
        receiver = Receiver.parse(url)
        sequences = SequenceAllocator(db, url)
        shared_clock = Clock(clock)
        # Separate channels for reports and supervision: a NULL in flight never holds an alarm back.
        channels = [
            Dc09Channel(
                receiver,
                account=self.config.account,
                key=key,
                sequences=sequences,
                clock=shared_clock,
                connect_timeout=self.config.connect_timeout,
                ack_timeout=self.config.ack_timeout,
            )
            for _ in range(2)
        ]
        return ReceiverLink(
            url=url,
            device_id=receiver_device_id(index),
            receiver=receiver,
            sequences=sequences,
            clock=shared_clock,
            reports=channels[0],
            probes=channels[1],
        )

    def status(self) -> dict[str, Any]:
        receivers = []
        for i, link in enumerate(self.receivers):
            d = link.as_dict()
            d.update(
                role="primary" if i == 0 else "backup", active=i == self.active, clock_offset_s=link.clock.offset_s
            )
            receivers.append(d)
        active = self.receivers[self.active].url if self.receivers else None
        return {"receivers": receivers, "active_receiver": active}

    async def close(self) -> None:
        for link in self.receivers:
            await link.reports.close()
            await link.probes.close()

    async def acked(self, link: Link, reason: str) -> None:
        link.record_ack(now_ms())
        await self.set_state(link, LinkState.UP, reason)

    async def failed(self, link: Link, reason: str) -> bool:
        """Record a failure; fail over if the active receiver has failed enough. True if we switched."""
        now = now_ms()
        link.record_failure(now)
        await self.set_state(link, LinkState.DOWN, reason)
        cfg, links = self.config, self.receivers
        if (
            len(links) > 1
            and link is links[self.active]
            and link.should_fail_over(now, cfg.failover_after_failures, cfg.failover_after_seconds)
        ):
            order = [(self.active + k) % len(links) for k in range(1, len(links))]
            nxt = next((i for i in order if links[i].state != LinkState.DOWN), order[0])
            log.warning("relay: failing over from %s to %s (%s)", link.url, links[nxt].url, reason)
            self.active = nxt
            links[nxt].failures, links[nxt].failing_since_ms = 0, None
            return True
        return False

    async def supervise(self, link: ReceiverLink) -> None:
        """NULL every supervision_interval; with supervision off, still probe a failed primary."""
        interval = self.config.supervision_interval
        index = self.receivers.index(link)
        while True:
            if interval > 0 or (index == 0 and self.active != 0):
                await self._probe(link, index)
            await asyncio.sleep(interval if interval > 0 else self.config.retry_max_interval)

    async def _probe(self, link: ReceiverLink, index: int) -> None:
        cfg = self.config

        def build(seq: int, ts: datetime) -> Frame:
            return content.null_frame(
                account=cfg.account, sequence=seq, timestamp=ts, receiver=cfg.receiver, line=cfg.line or DEFAULT_LINE
            )

        try:
            await link.probes.send(build)
        except Dc09Error as exc:
            SENDS.labels("dc09-null", exc.reason).inc()
            await self.failed(link, f"supervision {exc.reason}: {exc}")
            return
        SENDS.labels("dc09-null", "delivered").inc()
        await self.acked(link, "supervision ack")
        if index == 0 and self.active != 0:
            log.warning("relay: primary receiver %s is back; traffic returns to it", link.url)
            self.active = 0
            self._on_primary_back()

    async def set_state(self, link: Link, state: LinkState, reason: str) -> None:
        LINK_UP.labels(link.device_id).set(1 if state == LinkState.UP else 0)
        if link.state == state:
            return
        link.state, link.reason, link.since_ms = state, reason, now_ms()
        level = logging.INFO if state == LinkState.UP else logging.WARNING
        log.log(level, "relay: %s %s (%s)", link.url, state, reason)
        event = Event(
            kind=EventKind.RELAY_LINK,
            device_id=link.device_id,
            payload={"receiver": link.url, "state": str(state), "reason": reason},
            site=self._site_id,
        )
        try:
            await self._emit(event)
        except Exception:
            log.exception("relay: could not record the relay.link event for %s", link.url)
