"""A DriverContext whose emit appends to a list, with an awaitable "wait until an event like this"."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from edge.drivers.base import DriverContext
from edge.events import Event


class Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self.ctx = DriverContext(site_id="test", emit=self.emit)

    async def emit(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: str, device: str | None = None) -> list[Event]:
        return [e for e in self.events if e.kind == kind and (device is None or e.device_id == device)]

    async def wait_for(self, pred: Callable[[Event], bool], timeout: float = 5.0, start: int = 0) -> Event:
        """The first event at index >= start matching pred; TimeoutError if none in time."""
        async with asyncio.timeout(timeout):
            while True:
                for e in self.events[start:]:
                    if pred(e):
                        return e
                self._changed.clear()
                await self._changed.wait()

    async def wait_kind(self, kind: str, device: str, timeout: float = 5.0, start: int = 0) -> Event:
        return await self.wait_for(lambda e: e.kind == kind and e.device_id == device, timeout, start)
