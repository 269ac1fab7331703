"""Per-receiver link state, failover bookkeeping and the relay's Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import Counter, Gauge, Histogram

from edge.relay.sequence import SequenceAllocator
from edge.relay.transport_dc09 import Clock, Dc09Channel, Receiver

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
    """What we know about one transport endpoint (a DC-09 receiver or the webhook)."""

    url: str
    device_id: str
    state: LinkState = LinkState.UNKNOWN
    reason: str = ""
    since_ms: int | None = None
    last_ack_ms: int | None = None
    failures: int = 0  # consecutive, reset by any ACK
    failing_since_ms: int | None = None

    def record_ack(self, now_ms: int) -> None:
        self.last_ack_ms = now_ms
        self.failures = 0
        self.failing_since_ms = None

    def record_failure(self, now_ms: int) -> None:
        self.failures += 1
        if self.failing_since_ms is None:
            self.failing_since_ms = now_ms

    def should_fail_over(self, now_ms: int, after_failures: int, after_s: float) -> bool:
        if self.failures >= after_failures:
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
        }


@dataclass(kw_only=True)
class ReceiverLink(Link):
    """A DC-09 receiver: its own sequence counter and clock offset, and separate channels for
    reports and supervision, so a NULL in flight never holds an alarm back."""

    receiver: Receiver
    sequences: SequenceAllocator
    clock: Clock
    reports: Dc09Channel
    probes: Dc09Channel
