"""What the engine decides; `edge.core.apply` carries each out inside the event's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.config.rules import EscalationWebhook
from edge.relay.message import PoliceMessage


@dataclass(frozen=True, slots=True)
class Relay:
    """Queue a report for the police platform (the outbox; the relay sends it after the commit)."""

    message: PoliceMessage


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    """Open an operator alarm (category 'alarm') or flag (category 'flag')."""

    alarm_id: str
    event_id: str
    device_id: str
    category: str
    kind: str
    severity: str
    message: str
    message_en: str
    zone: int | None
    location: str
    test: bool
    opened_ms: int
    rule: str


@dataclass(frozen=True, slots=True)
class EscalateAlarm:
    alarm_id: str
    severity: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class CloseFlag:
    """A flag whose condition cleared. Never used for category 'alarm': only a person closes those."""

    alarm_id: str
    reason: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class SetDeviceState:
    device_id: str
    state: str
    reasons: tuple[str, ...]
    since_ms: int
    last_seen_ms: int | None
    maintenance_until_ms: int | None


@dataclass(frozen=True, slots=True)
class Notify:
    """An escalation webhook call, made after the commit (best effort with retries)."""

    webhook: EscalationWebhook
    body: dict[str, Any] = field(default_factory=dict)


Action = Relay | OpenAlarm | EscalateAlarm | CloseFlag | SetDeviceState | Notify
