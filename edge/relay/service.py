"""The police relay: drains the outbox to DC-09 receivers and the webhook, supervises the links.

`Relay.run()` is a supervised set of tasks: one sender per transport and one NULL supervisor per
DC-09 receiver. Senders take the outbox head in (priority, seq) order; `notify()` wakes them right
after an enqueue. While the store cannot be written, the runtime hands reports to a memory queue
(edge.relay.memory); each sender serves it alongside the outbox, lower priority first and the
outbox first at equal priority (its reports are older), so alarms still go out in order.
DC-09 fails over from the active receiver to the next after
`failover_after_failures` failures or `failover_after_seconds`, and returns to the primary as soon
as a supervision NULL to it is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from edge.config.police import Police
from edge.events import now_ms
from edge.relay.dc09 import content
from edge.relay.dc09.crypto import load_key
from edge.relay.dc09.frame import Frame
from edge.relay.links import (
    OUTBOX_DEPTH,
    OUTBOX_OLDEST,
    RELAY_LATENCY,
    SENDS,
    WEBHOOK_DEVICE_ID,
    Link,
)
from edge.relay.memory import MemoryQueue, MemoryReport
from edge.relay.message import PRIORITY_ALARM, PoliceMessage
from edge.relay.supervision import DEFAULT_LINE, Emit, Links
from edge.relay.transport_dc09 import Dc09Error, FrameBuilder
from edge.relay.transport_webhook import WebhookRejected, WebhookRetry, WebhookTransport
from edge.store import outbox
from edge.store.db import Database

log = logging.getLogger(__name__)


# Safety net for rows enqueued without notify() (another process, e.g. the commissioning CLI).
IDLE_POLL_S = 1.0
_RESTART_BASE, _RESTART_CAP = 2.0, 6  # task restart back-off: uniform(0, 2**min(6, n)) s, at most 64 s


class Relay:
    def __init__(
        self,
        police_config: Police,
        db: Database,
        emit: Emit,
        site_id: str,
        *,
        clock: Callable[[], float] = time.time,
        memory: MemoryQueue | None = None,
    ) -> None:
        self.config = police_config
        self.memory = memory if memory is not None else MemoryQueue()
        self._db = db
        self.transports = outbox.transports_for(police_config)
        self.links = Links(
            police_config,
            db,
            emit,
            site_id,
            key=load_key(police_config.key_file),
            clock=clock,
            on_primary_back=self.notify,
        )
        hook = police_config.webhook
        self._webhook = WebhookTransport(hook, site_id) if hook else None
        # The query string may carry a platform token: status and events show the URL without it.
        self._webhook_link = Link(hook.url.split("?")[0], WEBHOOK_DEVICE_ID) if hook else None
        self._wake = {t: asyncio.Event() for t in self.transports}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._dc09_seq: dict[tuple[int, int], int] = {}  # (outbox seq, receiver) -> DC-09 sequence, for resends

    # ---- public API -------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the senders now (call after committing an enqueue). Safe from any thread."""
        loop = self._loop
        if loop is None:
            return  # not running yet: run() starts by draining whatever is queued
        if threading.get_ident() == self._thread:
            self._wake_all()
        else:
            loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for ev in self._wake.values():
            ev.set()

    async def run(self) -> None:
        """Run until cancelled."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        pending = await asyncio.to_thread(outbox.status, self._db, now_ms())
        if pending["depth"]:
            log.warning("relay: %d report(s) pending at start (outbox resumes them)", pending["depth"])
        try:
            async with asyncio.TaskGroup() as tg:
                if "dc09" in self.transports:
                    tg.create_task(self._supervised("relay-dc09-sender", lambda: self._sender("dc09")))
                    for link in self.links.receivers:
                        tg.create_task(
                            self._supervised(f"relay-null-{link.device_id}", partial(self.links.supervise, link))
                        )
                if "webhook" in self.transports:
                    tg.create_task(self._supervised("relay-webhook-sender", lambda: self._sender("webhook")))
                if not self.transports:
                    log.info("relay: no police receiver or webhook configured; nothing will be relayed")
                    tg.create_task(asyncio.Event().wait())  # run until cancelled, like every other task
        finally:
            await self.links.close()
            if self._webhook:
                await self._webhook.close()
            self._loop = None

    def status(self) -> dict[str, Any]:
        """Link states, the active receiver, and the outbox (depth, oldest age, last ACK)."""
        return {
            **self.links.status(),
            "webhook": self._webhook_link.as_dict() if self._webhook_link else None,
            "outbox": outbox.status(self._db, now_ms()),
            "memory_queue": len(self.memory),  # reports held in memory while the store is full
        }

    # ---- supervision of our own tasks -------------------------------------------------------

    async def _supervised(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        restarts = 0
        while True:
            try:
                await body()
                return
            except Exception:
                restarts += 1
                delay = random.uniform(0, _RESTART_BASE ** min(_RESTART_CAP, restarts))  # noqa: S311 - jitter
                log.exception("relay: task %s failed (restart %d in %.1f s)", name, restarts, delay)
                await asyncio.sleep(delay)

    # ---- senders ----------------------------------------------------------------------------

    async def _sender(self, transport: str) -> None:
        wake = self._wake[transport]
        while True:
            wake.clear()
            held = self.memory.head(transport)
            if held is not None:
                head = await asyncio.to_thread(outbox.head, self._db, transport)
                if head is None or held.priority < head.priority:
                    await self._deliver_memory(held)
                    continue
            row = await asyncio.to_thread(outbox.claim_next, self._db, transport, now_ms())
            if row is None:
                await self._refresh_gauges()
                head = await asyncio.to_thread(outbox.head, self._db, transport)
                wait = IDLE_POLL_S if head is None else min(IDLE_POLL_S, max(0.0, (head.next_try_ms - now_ms()) / 1000))
                try:
                    async with asyncio.timeout(wait):
                        await wake.wait()
                except TimeoutError:
                    pass
                continue
            if transport == "dc09":
                await self._deliver_dc09(row)
            else:
                await self._deliver_webhook(row)

    async def _refresh_gauges(self) -> None:
        st = await asyncio.to_thread(outbox.status, self._db, now_ms())
        for transport in self.transports:
            t = st["transports"].get(transport, {})
            OUTBOX_DEPTH.labels(transport).set(t.get("depth", 0))
            OUTBOX_OLDEST.labels(transport).set(t.get("oldest_age_s") or 0)

    async def _deliver_memory(self, held: MemoryReport) -> None:
        """One attempt at a report held in memory (the store is full); on failure it waits its turn again."""
        self.memory.take(held)
        try:
            receiver, sequence = await self._send_held(held)
        except (Dc09Error, WebhookRetry, WebhookRejected) as exc:
            self.memory.retry(held)
            log.warning("relay: report held in memory not delivered yet (%s)", exc)
            await asyncio.sleep(outbox.retry_delay(held.attempts, self.config.retry_max_interval))
            return
        acked = now_ms()
        SENDS.labels(held.transport, "delivered_from_memory").inc()
        if self.memory.delivered(held, receiver, sequence, acked):  # its event got committed meanwhile
            with contextlib.suppress(sqlite3.Error):
                await asyncio.to_thread(self._mark_event_delivered, held, receiver, sequence, acked)

    async def _send_held(self, held: MemoryReport) -> tuple[str, int | None]:
        if held.transport == "webhook":
            assert self._webhook is not None and self._webhook_link is not None
            await self._webhook.send(held.message)
            await self.links.acked(self._webhook_link, "delivered")
            return self._webhook_link.url, None
        index = self.links.active
        link = self.links.receivers[index]
        seq = held.dc09_seq.get(index)
        if seq is None:
            seq = held.dc09_seq[index] = await asyncio.to_thread(link.sequences.next)
        builder = self._frame_builder(held.message)
        try:
            seq, _ack = await link.reports.send(builder, seq)
        except Dc09Error as exc:
            SENDS.labels("dc09", exc.reason).inc()
            await self.links.failed(link, f"{exc.reason}: {exc}")
            raise
        await self.links.acked(link, "ack")
        return link.url, seq

    def _mark_event_delivered(self, held: MemoryReport, receiver: str, sequence: int | None, acked: int) -> None:
        with self._db.tx() as conn:
            outbox.set_delivered_event(conn, held.message.event_id, held.transport, receiver, sequence, acked)

    def _frame_builder(self, message: PoliceMessage) -> FrameBuilder:
        coords = (self.config.coordinates.x, self.config.coordinates.y) if self.config.coordinates else None

        def build(seq: int, ts: datetime) -> Frame:
            return content.message_frame(
                message,
                fmt=self.config.format,
                account=self.config.account,
                sequence=seq,
                timestamp=ts,
                receiver=self.config.receiver,
                line=self.config.line or DEFAULT_LINE,
                site_coordinates=coords,
            )

        return build

    async def _deliver_dc09(self, row: outbox.OutboxRow) -> None:
        index = self.links.active
        link = self.links.receivers[index]
        key = (row.seq, index)
        seq = self._dc09_seq.get(key)
        if seq is None:
            seq = self._dc09_seq[key] = await asyncio.to_thread(link.sequences.next)
        try:
            seq, _ack = await link.reports.send(self._frame_builder(row.message), seq)
        except Dc09Error as exc:
            SENDS.labels("dc09", exc.reason).inc()
            failed_over = await self.links.failed(link, f"{exc.reason}: {exc}")
            await self._retry(row, f"{link.url}: {exc}", immediate=failed_over)
            return
        acked = now_ms()
        await asyncio.to_thread(outbox.mark_delivered, self._db, row.seq, link.url, seq, acked)
        for k in [k for k in self._dc09_seq if k[0] == row.seq]:
            del self._dc09_seq[k]
        SENDS.labels("dc09", "delivered").inc()
        RELAY_LATENCY.labels("dc09").observe(max(0, acked - row.created_ms) / 1000)
        await self.links.acked(link, "ack")

    async def _deliver_webhook(self, row: outbox.OutboxRow) -> None:
        assert self._webhook is not None and self._webhook_link is not None
        link = self._webhook_link
        try:
            await self._webhook.send(row.message)
        except WebhookRetry as exc:
            SENDS.labels("webhook", "retry").inc()
            await self.links.failed(link, str(exc))
            await self._retry(row, str(exc), immediate=False)
            return
        except WebhookRejected as exc:
            SENDS.labels("webhook", "rejected").inc()
            log.error("relay: webhook rejected report %s: %s", row.event_id, exc)
            await asyncio.to_thread(outbox.mark_failed, self._db, row.seq, str(exc), "rejected")
            await self.links.acked(link, "reachable (report rejected)")
            return
        acked = now_ms()
        await asyncio.to_thread(outbox.mark_delivered, self._db, row.seq, link.url, None, acked)
        SENDS.labels("webhook", "delivered").inc()
        RELAY_LATENCY.labels("webhook").observe(max(0, acked - row.created_ms) / 1000)
        await self.links.acked(link, "delivered")

    async def _retry(self, row: outbox.OutboxRow, error: str, *, immediate: bool) -> None:
        give_up = self.config.give_up_after
        now = now_ms()
        if row.priority != PRIORITY_ALARM and give_up is not None and now - row.created_ms > give_up * 1000:
            SENDS.labels(row.transport, "gave_up").inc()
            log.error("relay: giving up on %s report %s after %.0f s: %s", row.transport, row.event_id, give_up, error)
            await asyncio.to_thread(outbox.mark_failed, self._db, row.seq, f"gave up: {error}", "failed")
            return
        delay = 0.0 if immediate else outbox.retry_delay(row.attempts, self.config.retry_max_interval)
        await asyncio.to_thread(outbox.schedule_retry, self._db, row.seq, error, now + int(delay * 1000))
