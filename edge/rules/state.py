"""The engine's state: device states with their conditions, open alarms, timers. Immutable and JSON-able.

Every dataclass here is frozen and the engine builds a new `EngineState` per step, so a step is a pure
function and the runtime can persist the result (as JSON) in the same transaction as the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from edge.states import DeviceState

# Condition keys whose activation makes a device offline; every other active condition degrades it.
OFFLINE_KEYS = frozenset({"offline", "link"})
# The button's own pressed/released condition: tracked for `for:` rules, never a device fault.
ALARM_KEY = "alarm"
# Camera checks whose result can be "could not check" (unreachable, no stream, no answer): that is its
# own quiet condition `<check>_unchecked`, never the check's failure, and it leaves the state alone.
CHECKS = frozenset({"quality", "retention", "clock"})
UNCHECKED = "_unchecked"


def unchecked_key(check: str) -> str:
    return check + UNCHECKED


def is_quiet(key: str) -> bool:
    """A condition that is shown (reason, an info flag) but does not make the device degraded."""
    return key.endswith(UNCHECKED)


@dataclass(frozen=True, slots=True)
class Condition:
    """One thing that can be wrong with a device (offline, tamper, quality, ...), per activation."""

    active: bool = False
    reasons: tuple[str, ...] = ()
    since_ms: int = 0
    streak: int = 0  # consecutive raising reports (quality needs N in a row)
    clear_at_ms: int | None = None  # hysteresis: clears at this time unless raised again first
    relayed: str | None = None  # PoliceCode name sent for this activation; its restore is owed
    flagged: tuple[str, ...] = ()  # flags opened for this activation
    held: bool = False  # raised during maintenance/test: flag and report when maintenance ends
    event: dict[str, Any] | None = None  # the activating event (Event.as_dict())


@dataclass(frozen=True, slots=True)
class DeviceTrack:
    state: DeviceState = DeviceState.UNKNOWN
    reasons: tuple[str, ...] = ()
    since_ms: int = 0
    last_seen_ms: int | None = None
    maintenance_until_ms: int | None = None
    conditions: Mapping[str, Condition] = field(default_factory=dict)

    def in_maintenance(self, now_ms: int) -> bool:
        return self.maintenance_until_ms is not None and self.maintenance_until_ms > now_ms


@dataclass(frozen=True, slots=True)
class AlarmTrack:
    """An alarm or flag the engine opened and that no operator has closed yet."""

    device_id: str
    category: str
    condition: str | None
    severity: str
    opened_ms: int
    kind: str
    message: str
    acked: bool = False
    latched: bool = False
    escalate_at_ms: int | None = None
    escalate_to: str | None = None
    webhooks: tuple[dict[str, str | None], ...] = ()  # EscalationWebhook dumps


@dataclass(frozen=True, slots=True)
class Pending:
    """A `for:` rule waiting for its condition to persist."""

    rule: str
    device_id: str
    due_ms: int
    condition: str | None
    raising: bool
    event: dict[str, Any]
    since_ms: int = 0  # the condition's activation this rule is timing


@dataclass(frozen=True, slots=True)
class EngineState:
    now_ms: int = 0
    devices: Mapping[str, DeviceTrack] = field(default_factory=dict)
    alarms: Mapping[str, AlarmTrack] = field(default_factory=dict)
    pending: tuple[Pending, ...] = ()
    counts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # "rule|device" -> event times

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EngineState:
        return cls(
            now_ms=int(data["now_ms"]),
            devices={k: track_from_json(d) for k, d in data["devices"].items()},
            alarms={k: alarm_from_json(a) for k, a in data["alarms"].items()},
            pending=tuple(Pending(**p) for p in data["pending"]),
            counts={k: tuple(v) for k, v in data["counts"].items()},
        )


def track_from_json(d: Mapping[str, Any]) -> DeviceTrack:
    return DeviceTrack(
        state=DeviceState(d["state"]),
        reasons=tuple(d["reasons"]),
        since_ms=int(d["since_ms"]),
        last_seen_ms=d["last_seen_ms"],
        maintenance_until_ms=d["maintenance_until_ms"],
        conditions={
            k: Condition(**{**c, "reasons": tuple(c["reasons"]), "flagged": tuple(c["flagged"])})
            for k, c in d["conditions"].items()
        },
    )


def alarm_from_json(a: Mapping[str, Any]) -> AlarmTrack:
    return AlarmTrack(**{**a, "webhooks": tuple(a["webhooks"])})


def derive_state(track: DeviceTrack, now_ms: int) -> tuple[DeviceState, tuple[str, ...]]:
    """The device's state and reasons from its active conditions (maintenance wins)."""
    active = {k: c for k, c in track.conditions.items() if c.active and k != ALARM_KEY}
    reasons = tuple(sorted({r for c in active.values() for r in c.reasons}))
    if track.in_maintenance(now_ms):
        return DeviceState.MAINTENANCE, reasons
    if any(k in OFFLINE_KEYS for k in active):
        return DeviceState.OFFLINE, reasons
    if any(not is_quiet(k) for k in active):
        return DeviceState.DEGRADED, reasons
    if track.last_seen_ms is not None or track.conditions:
        return DeviceState.ONLINE, reasons  # only quiet conditions: "could not check" reasons, if any
    return DeviceState.UNKNOWN, ()
