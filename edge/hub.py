"""Wakes waiters (SSE clients, the relay) when something is committed. One asyncio loop only."""

from __future__ import annotations

import asyncio


class Hub:
    """A broadcast doorbell: `ring()` after a commit; `wait()` returns at the next ring or timeout."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.rings = 0

    def ring(self) -> None:
        self.rings += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, within: float) -> bool:
        """True if rung within `within` seconds."""
        event = self._event
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            return False
        return True
