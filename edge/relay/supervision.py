"""The DC-09 receivers as links: which one is active, up/down state, failover and NULL supervision.

Reports go to the active receiver, and its health is judged on them. It fails over to the next one
(preferring one not known to be down) after `failover_after_failures` failed report attempts, or
when the oldest undelivered report has been failing for `failover_after_seconds` — whatever NULLs
say meanwhile — or after as many failed NULLs. A NULL's ACK never clears a report failure.

Traffic returns to the primary when a NULL to it is acknowledged, unless the primary lost the
traffic while its NULLs were being acknowledged (it takes supervision but not reports): then it
gets traffic back only after a hold-off of one minute, doubling per repeat up to an hour, so a
receiver that answers only NULLs costs one failed attempt per hold-off, not every alarm.

A NULL acknowledged by the active receiver while a report is failing there means it is back: the
delivery loop is asked for an immediate attempt (`on_ready`). Every state change is a `relay.link`
event: {"receiver", "state": "up"|"down", "reason"}.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from edge.config.police import Police
from edge.events import now_ms
from edge.relay.dc09 import content
from edge.relay.dc09.channel import Clock, Dc09Channel, Dc09Error, Receiver
from edge.relay.dc09.frame import Frame
from edge.relay.links import SENDS, LinkEvents, LinkState, ReceiverLink, receiver_device_id
from edge.relay.sequence import SequenceStore

log = logging.getLogger(__name__)

# Default DC-09 line number: pysiaalarm-class receivers require an L field, DC-09 allows any hex.
DEFAULT_LINE = "0"
HOLDOFF_BASE_S = 60.0  # first hold-off for a receiver that ACKs NULLs but failed reports
HOLDOFF_MAX_S = 3600.0  # doubling stops here: it is still tried hourly


class Links:
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
        self._events = events
        self._on_ready = on_ready
        self.receivers = [self._make(i, url, key, clock) for i, url in enumerate(config.receivers)]
        self.active = 0

    def _make(self, index: int, url: str, key: bytes | None, clock: Callable[[], float]) -> ReceiverLink:
        receiver = Receiver.parse(url)
        shared_clock = Clock(clock)
        channels = [
            Dc09Channel(
                receiver,
                account=self.config.account,
                key=key,
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

    # ---- reports ------------------------------------------------------------------------------

    async def report_acked(self, link: ReceiverLink) -> None:
        link.record_ack(now_ms())
        await self._events.set_state(link, LinkState.UP, "ack")

    async def report_failed(self, link: ReceiverLink, reason: str, started_ms: int) -> bool:
        """Record a failed report attempt; fail over if the active receiver has failed enough. True if we switched."""
        link.record_failure(started_ms)
        await self._events.set_state(link, LinkState.DOWN, reason)
        return self._maybe_fail_over(link, reason)

    def _maybe_fail_over(self, link: ReceiverLink, reason: str) -> bool:
        cfg, links, now = self.config, self.receivers, now_ms()
        if len(links) < 2 or link is not links[self.active]:
            return False
        if not link.should_fail_over(now, cfg.failover_after_failures, cfg.failover_after_seconds):
            return False
        if link.null_ok and link.failures:
            link.holdoff_s = min(HOLDOFF_MAX_S, max(HOLDOFF_BASE_S, link.holdoff_s * 2))
            link.return_after_ms = now + int(link.holdoff_s * 1000)
            log.warning("relay: %s acknowledges NULLs but not reports; held off for %.0f s", link.url, link.holdoff_s)
        else:
            link.return_after_ms = 0
        order = [(self.active + k) % len(links) for k in range(1, len(links))]
        usable = (i for i in order if links[i].state != LinkState.DOWN and now >= links[i].return_after_ms)
        nxt = next(usable, order[0])
        log.warning("relay: failing over from %s to %s (%s)", link.url, links[nxt].url, reason)
        self.active = nxt
        links[nxt].failures, links[nxt].failing_since_ms = 0, None
        return True

    # ---- supervision ----------------------------------------------------------------------------

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

        seq = await asyncio.to_thread(self._sequences.for_null, link.url)
        try:
            await link.probes.send(build, seq)
        except Dc09Error as exc:
            SENDS.labels("dc09-null", exc.reason).inc()
            link.record_null(False, now_ms())
            await self._events.set_state(link, LinkState.DOWN, f"supervision {exc.reason}: {exc}")
            self._maybe_fail_over(link, f"supervision {exc.reason}")
            return
        SENDS.labels("dc09-null", "delivered").inc()
        link.record_null(True, now_ms())
        if index != self.active and now_ms() >= link.return_after_ms:
            # No report goes there now, so its old report failures are not evidence any more.
            link.failures, link.failing_since_ms = 0, None
            if index == 0:
                log.warning("relay: primary receiver %s is back; traffic returns to it", link.url)
                self.active = 0
                self._on_ready()
        elif index == self.active and link.failures:
            self._on_ready()  # it answers again: try the waiting report now, not at the end of its back-off
        if link.failures == 0:
            await self._events.set_state(link, LinkState.UP, "supervision ack")
        else:
            link.reason = "acknowledges supervision, reports failing"
