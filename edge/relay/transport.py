"""What the delivery loop needs from a police transport (DC-09, webhook; GB/T 28181 plugs in the same way).

A transport delivers one report at a time and says how it went: a `Delivery` (the receiver's ACK),
`TransportRetry` (not this time; `immediate` when it has just switched to another receiver), or
`TransportRejected` (the platform refused this report for good). Its own background work (DC-09
NULL supervision) is handed out as named units for the supervisor; `settle` runs inside the
transaction that marks a report delivered or failed, for state kept per report (DC-09 sequences).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from edge.relay.message import PoliceMessage

Unit = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Delivery:
    receiver: str  # the URL that acknowledged it
    sequence: int | None  # DC-09 sequence number; None for the webhook


class TransportRetry(Exception):
    def __init__(self, detail: str, *, immediate: bool = False) -> None:
        super().__init__(detail)
        self.immediate = immediate


class TransportRejected(Exception):
    """Retrying the same report cannot help (e.g. HTTP 4xx)."""


class Transport(Protocol):
    name: str  # the outbox's transport column: "dc09", "webhook"

    async def deliver(self, message: PoliceMessage) -> Delivery: ...

    def settle(self, conn: sqlite3.Connection, event_id: str) -> None: ...

    def units(self) -> dict[str, Unit]: ...

    def status(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...
