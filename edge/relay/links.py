"""Per-receiver link state, failover bookkeeping and the relay's Prometheus metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import Counter, Gauge, Histogram

from edge.events import Event, EventKind, now_ms
from edge.relay.dc09.channel import Clock, Dc09Channel, Receiver

log = logging.getLogger(__name__)
Emit = Callable[[Event], Awaitable[None]]

# Latency buckets around the 500 ms bar of DESIGN.md section 1, up to the EN 50136 D4 limit of 20 s.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0)

RELAY_LATENCY = Histogram(
    "edge_relay_latency_seconds",
    "From the event's time to the receiver's acknowledgement",
    ["transport"],
    buckets=_LATENCY_BUCKETS,
)
OUTBOX_DEPTH = Gauge("edge_relay_outbox_depth", "Reports queued for the police, not yet acknowledged", ["transport"])
OUTBOX_OLDEST = Gauge("edge_relay_outbox_oldest_seconds", "Age of the oldest unacknowledged report", ["transport"])
SENDS = Counter("edge_relay_sends_total", "Send attempts by outcome", ["transport", "result"])
LINK_UP = Gauge("edge_relay_link_up", "1 when the receiver answered its last message, else 0", ["receiver"])


class LinkState(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


def receiver_device_id(index: int) -> str:
    """The device id a receiver's relay.link events carry: police-receiver-1 is the primary."""
    return f"police-receiver-{index + 1}"


WEBHOOK_DEVICE_ID = "police-webhook"


@dataclass
class Link:
    """What we know about one transport endpoint (a DC-09 receiver or the webhook).

    Health is judged on reports: `failures` and `failing_since_ms` count failed report attempts and
    only a delivered report resets them. Supervision has its own count, `null_failures`, and a
    NULL's ACK never clears a report failure (a receiver that ACKs NULLs but not alarms is down)."""

    url: str
    device_id: str
    state: LinkState = LinkState.UNKNOWN
    reason: str = ""
    since_ms: int | None = None
    last_ack_ms: int | None = None
    failures: int = 0  # consecutive failed report attempts, reset by a delivered report
    failing_since_ms: int | None = None  # start of the first of them
    null_failures: int = 0  # consecutive failed NULLs, reset by an acknowledged NULL
    null_ok: bool | None = None  # the last NULL's outcome (None: none sent yet)
    holdoff_s: float = 0.0  # after a failover while its NULLs were fine: how long traffic stays away
    return_after_ms: int = 0

    def record_ack(self, now_ms: int) -> None:
        self.last_ack_ms = now_ms
        self.failures = 0
        self.failing_since_ms = None
        self.holdoff_s = 0.0

    def record_failure(self, started_ms: int) -> None:
        self.failures += 1
        if self.failing_since_ms is None:
            self.failing_since_ms = started_ms

    def record_null(self, ok: bool, now_ms: int) -> None:
        self.null_ok = ok
        self.null_failures = 0 if ok else self.null_failures + 1
        if ok:
            self.last_ack_ms = now_ms

    def should_fail_over(self, now_ms: int, after_failures: int, after_s: float) -> bool:
        if self.failures >= after_failures or self.null_failures >= after_failures:
            return True
        return self.failing_since_ms is not None and now_ms - self.failing_since_ms >= after_s * 1000

    def as_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "device_id": self.device_id,
            "state": str(self.state),
            "reason": self.reason,
            "since_ms": self.since_ms,
            "last_ack_ms": self.last_ack_ms,
            "consecutive_failures": self.failures,
            "supervision": {None: "unknown", True: "ack", False: "failed"}[self.null_ok],
        }


@dataclass(kw_only=True)
class ReceiverLink(Link):
    """A DC-09 receiver: its clock offset, and separate channels for reports and supervision, so a
    NULL in flight never holds an alarm back."""

    receiver: Receiver
    clock: Clock
    reports: Dc09Channel
    probes: Dc09Channel


class LinkEvents:
    """Records link state changes: the gauge, the log, and a relay.link event per change."""

    def __init__(self, emit: Emit, site_id: str) -> None:
        self._emit = emit
        self._site_id = site_id

    async def set_state(self, link: Link, state: LinkState, reason: str) -> None:
        LINK_UP.labels(link.device_id).set(1 if state == LinkState.UP else 0)
        if link.state == state:
            link.reason = reason
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
        except Exception:  # the event log is best effort here: the link state itself is already set
            log.exception("relay: could not record the relay.link event for %s", link.url)
