"""The police relay: one delivery loop per transport, fed by the outbox and the memory queue.

`Relay` builds the configured transports (DC-09 receivers, the webhook; each a
`edge.relay.transport.Transport`), one `DeliveryLoop` for each, and the one `SequenceStore` for
DC-09 numbers. `run()` runs every loop and every transport's own units (NULL supervision per
receiver) under `edge.supervisor.Supervisor` — the daemon's own, so a failing unit is restarted with
its back-off and shows up faulted like any driver. `notify()` after a commit asks every loop for an
immediate attempt.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from edge.config.police import Police
from edge.events import now_ms
from edge.relay.dc09.crypto import load_key
from edge.relay.delivery import DeliveryLoop
from edge.relay.links import Emit, LinkEvents
from edge.relay.memory import MemoryQueue
from edge.relay.sequence import SequenceStore
from edge.relay.transport import Transport, Unit
from edge.relay.transport_dc09 import Dc09Transport
from edge.store import outbox
from edge.store.db import Database
from edge.supervisor import Supervisor

log = logging.getLogger(__name__)


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
        supervisor: Supervisor | None = None,
    ) -> None:
        self.config = police_config
        self.memory = memory if memory is not None else MemoryQueue()
        self.sequences = SequenceStore(db)
        self._db = db
        self._supervisor = supervisor if supervisor is not None else Supervisor()
        events = LinkEvents(emit, site_id)
        self.transports: list[Transport] = []
        self.dc09: Dc09Transport | None = None
        if police_config.receivers:
            self.dc09 = Dc09Transport(
                police_config,
                self.sequences,
                events,
                key=load_key(police_config.key_file),
                clock=clock,
                on_ready=lambda: self._kick("dc09"),
            )
            self.transports.append(self.dc09)
        if police_config.webhook:
            # Built with the relay (start-up or reload), so httpx loads only on a site with a webhook.
            from edge.relay.transport_webhook import WebhookTransport  # noqa: PLC0415

            self.transports.append(WebhookTransport(police_config.webhook, site_id, events))
        self._loops = {t.name: DeliveryLoop(t, db, self.memory, police_config) for t in self.transports}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    # ---- public API -------------------------------------------------------------------------

    def notify(self) -> None:
        """A report was committed (or put in memory): every loop tries now. Safe from any thread."""
        loop = self._loop
        if loop is None:
            return  # not running yet: run() starts by draining whatever is queued
        if threading.get_ident() == self._thread:
            self._kick_all()
        else:
            loop.call_soon_threadsafe(self._kick_all)

    def units(self) -> dict[str, Unit]:
        """Every long-running part, by the name the supervisor reports it under."""
        out: dict[str, Unit] = {}
        for t in self.transports:
            out[f"relay-{t.name}"] = self._loops[t.name].run
            out.update(t.units())
        return out

    async def run(self) -> None:
        """Run until cancelled."""
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        pending = await asyncio.to_thread(outbox.status, self._db, now_ms())
        if pending["depth"]:
            log.warning("relay: %d report(s) pending at start (outbox resumes them)", pending["depth"])
        units = self.units()
        if not units:
            log.info("relay: no police receiver or webhook configured; nothing will be relayed")
        try:
            async with asyncio.TaskGroup() as tg:
                for name, unit in units.items():
                    tg.create_task(self._supervisor.run(name, unit), name=name)
                if not units:
                    tg.create_task(asyncio.Event().wait())  # run until cancelled, like every other unit
        finally:
            self._loop = None
            for t in self.transports:
                await t.close()

    def status(self) -> dict[str, Any]:
        """Link states, the active receiver, and the outbox (depth, oldest age, last ACK)."""
        out: dict[str, Any] = {"receivers": [], "active_receiver": None, "webhook": None}
        for t in self.transports:
            out.update(t.status())
        out["outbox"] = outbox.status(self._db, now_ms())
        out["memory_queue"] = len(self.memory)  # reports held in memory while the store is full
        return out

    # ---- internals ------------------------------------------------------------------------------

    def _kick(self, name: str) -> None:
        loop = self._loops.get(name)
        if loop is not None:
            loop.kick()

    def _kick_all(self) -> None:
        for loop in self._loops.values():
            loop.kick()
