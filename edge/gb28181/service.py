"""The GB/T 28181 uplink as one supervised unit of the daemon (signalling only; no video here).

It runs the SIP device (registration, keepalive, queries) and the outbox delivery loop of the
gb28181 transport under the daemon's supervisor, and reports the link like a DC-09 receiver: a
`relay.link` event for device `police-gb28181` when the platform has been unreachable longer than
`keepalive_interval * keepalive_timeout_count` (the default-police-link rule flags it), and up again
when registered.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from edge.config import Config
from edge.config.secrets import read_secret
from edge.gb28181.channels import channels
from edge.gb28181.device import GbDevice
from edge.gb28181.records import WorkerRef
from edge.gb28181.transport import Gb28181Transport
from edge.relay.delivery import DeliveryLoop
from edge.relay.links import Emit, Link, LinkEvents, LinkState
from edge.relay.memory import MemoryQueue
from edge.store.db import Database
from edge.supervisor import Supervisor

DEVICE_ID = "police-gb28181"
WATCH_S = 1.0


@dataclass(frozen=True, slots=True)
class _Retry:
    retry_max_interval: float = 30.0
    give_up_after: float | None = None  # alarms and faults are retried until the 200 OK


class Gb28181Service:
    def __init__(
        self,
        config: Config,
        db: Database,
        emit: Emit,
        memory: MemoryQueue,
        supervisor: Supervisor,
        camera_worker: WorkerRef = lambda: None,
    ) -> None:
        gb = config.gb28181
        assert gb is not None
        self.config = gb
        password = read_secret(gb.password_file) or ""
        self.device = GbDevice(gb, password, channels(config), db=db, on_change=self.kick, camera_worker=camera_worker)
        self.transport = Gb28181Transport(self.device)
        self.loop = DeliveryLoop(self.transport, db, memory, _Retry())
        self.link = Link(gb.server, DEVICE_ID)
        self._events = LinkEvents(emit, config.site.id)
        self._supervisor = supervisor
        self._event_loop: asyncio.AbstractEventLoop | None = None

    @property
    def down_after_s(self) -> float:
        return self.config.keepalive_interval * self.config.keepalive_timeout_count

    def kick(self) -> None:
        """Try the outbox head now (a new report, or just registered). Safe from any thread."""
        loop = self._event_loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self.loop.kick)

    async def run(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        units = {"relay-gb28181": self.loop.run, **self.transport.units(), "gb28181-link": self._watch}
        try:
            async with asyncio.TaskGroup() as tg:
                for name, unit in units.items():
                    tg.create_task(self._supervisor.run(name, unit), name=name)
        finally:
            self._event_loop = None

    async def _watch(self) -> None:
        while True:
            dev = self.device
            if dev.registered and self.link.state != LinkState.UP:
                self.link.record_ack(int(time.time() * 1000))
                await self._events.set_state(self.link, LinkState.UP, "registered")
            elif not dev.registered and dev.down_since is not None:
                down = time.monotonic() - dev.down_since
                if down >= self.down_after_s and self.link.state != LinkState.DOWN:
                    await self._events.set_state(self.link, LinkState.DOWN, dev.last_error or "not registered")
            await asyncio.sleep(WATCH_S)

    def status(self) -> dict[str, Any]:
        out = self.device.status()
        out["link"] = str(self.link.state)
        out["flagged"] = self.link.state == LinkState.DOWN
        return out
