"""The driver interface (DESIGN.md section 8) and the context the daemon hands every driver.

A driver turns one device family's I/O into `Event`s and keeps no policy. `run()` runs until
cancelled and raises on a fault it cannot handle itself; the supervisor restarts it with back-off.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from edge.events import Event
from edge.patrol.checkin import Checkin

if TYPE_CHECKING:
    from edge.config import Config

Emit = Callable[[Event], Awaitable[None]]
EmitMany = Callable[[list[Event]], Awaitable[None]]
SaveSnapshot = Callable[[str, bytes, int], Awaitable[None]]
LastLevels = Callable[[str], dict[str, bool]]
RecordCheckins = Callable[[list[Checkin]], Awaitable[int]]


async def _discard_snapshot(device_id: str, jpeg: bytes, ts_ms: int) -> None:
    return None


def _no_levels(device_id: str) -> dict[str, bool]:
    return {}


@dataclass(frozen=True, slots=True)
class DriverContext:
    """What the daemon gives a driver.

    `emit` returns only after the event is committed to the store, so a driver that has awaited
    it may acknowledge the device (e.g. a QoS 1 PUBACK).
    `save_snapshot(device_id, jpeg_bytes, ts_ms)` stores a camera thumbnail for operators.
    `last_levels(device_id)` gives the input levels the store last recorded, e.g.
    ``{"press": True, "tamper": False}``, so a driver restarted by a reload or a crash does not
    report a button that is still held as a second press.
    `record_checkins(checkins)` commits patrol check-ins (returns how many were new); None where the
    daemon keeps no patrol record.
    `emit_many(events)` commits several events in order in one transaction (one fsync instead of one
    each: 500 buttons coming online at once); `emit_all` falls back to `emit` one by one without it.
    """

    site_id: str
    emit: Emit
    save_snapshot: SaveSnapshot = _discard_snapshot
    last_levels: LastLevels = _no_levels
    record_checkins: RecordCheckins | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    emit_many: EmitMany | None = None

    async def emit_all(self, events: list[Event]) -> None:
        if not events:
            return
        if self.emit_many is not None and len(events) > 1:
            await self.emit_many(events)
            return
        for event in events:
            await self.emit(event)


class Driver(ABC):
    """One supervised unit of device I/O (a serial bus, the MQTT client, a camera group)."""

    type: ClassVar[str]

    def __init__(self, name: str, ctx: DriverContext) -> None:
        self.name = name
        self.ctx = ctx

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        """The instances this family needs for `config` (possibly none)."""

    @abstractmethod
    async def run(self) -> None:
        """Run until cancelled; raise on a fault so the supervisor restarts this driver."""

    def diagnostics(self) -> dict[str, Any]:
        """State for operators and support, with every secret redacted."""
        return {"type": self.type, "name": self.name}
