"""Helpers for the relay tests (a uniquely named module, so no test imports an ambiguous `conftest`)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from edge.config.police import Police
from edge.events import Event, now_ms
from edge.relay.message import PoliceCode, PoliceMessage
from edge.relay.service import Relay
from edge.store import Database
from edge.store.outbox import enqueue, transports_for

ACCOUNT = "12AB"
ASCII_KEY = "0123456789abcdef"  # pysiaalarm's 16-character key -> AES-128


class Emitted:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def links(self, device_id: str | None = None) -> list[tuple[str, str]]:
        return [
            (e.device_id, e.payload["state"])
            for e in self.events
            if e.kind == "relay.link" and (device_id is None or e.device_id == device_id)
        ]


def police(receivers: list[str], **kw: Any) -> Police:
    """A test config: short timeouts so failure paths take milliseconds, not the production seconds."""
    base: dict[str, Any] = {
        "account": ACCOUNT,
        "receivers": receivers,
        "supervision_interval": 0,
        "connect_timeout": 0.5,
        "ack_timeout": 1.0,
        "failover_after_failures": 2,
        "failover_after_seconds": 2.0,
        "retry_max_interval": 0.4,
    }
    base.update(kw)
    return Police.model_validate(base)


def message(zone: int, code: PoliceCode = PoliceCode.PANIC, **kw: Any) -> PoliceMessage:
    return PoliceMessage(
        event_id=kw.pop("event_id", str(uuid.uuid4())),
        device_id=kw.pop("device_id", f"btn-{zone}"),
        code=code,
        zone=zone,
        ts_ms=kw.pop("ts_ms", now_ms()),
        **kw,
    )


def submit(db: Database, relay: Relay | None, msgs: list[PoliceMessage], cfg: Police) -> None:
    """What the rules engine does: enqueue inside its transaction, then wake the relay."""
    with db.tx() as conn:
        for m in msgs:
            enqueue(conn, m, transports_for(cfg))
    if relay is not None:
        relay.notify()


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[Relay]:
    task = asyncio.create_task(relay.run(), name="relay-under-test")
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if task.done() and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]


def delivered(db: Database) -> list[dict[str, Any]]:
    return db.query("SELECT * FROM outbox WHERE state = 'delivered' ORDER BY acked_ms, seq")


async def until(predicate: Any, timeout: float = 5.0) -> None:
    """Poll a condition on the event loop (the relay runs on it) until true or fail."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


def depth(db: Database) -> int:
    return int(db.query("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'")[0]["n"])
