"""The daily inspection report's typed figures, and the raw store rows they are computed from.

Times are UTC milliseconds throughout; durations are milliseconds. Rates are fractions (0..1) or None
when there was no known, non-maintenance time to measure over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from edge.patrol.rounds import PlanDay
from edge.states import DeviceState
from edge.store.patrol import StoredCheckin

# Device states on a timeline (degraded counts as online). Maintenance wins over the others;
# unknown = no state known yet.
ONLINE: str = DeviceState.ONLINE
OFFLINE: str = DeviceState.OFFLINE
MAINTENANCE: str = DeviceState.MAINTENANCE
UNKNOWN: str = DeviceState.UNKNOWN


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything the report reads from the store, as plain rows (dicts of column -> value)."""

    devices: list[dict[str, Any]]
    events: list[dict[str, Any]]  # the day's events plus each timeline's last state event before it
    device_changes: list[dict[str, Any]]  # `changes` rows of type 'device' (maintenance windows)
    alarms: list[dict[str, Any]]  # alarms opened during the day
    key_areas: frozenset[str] = frozenset()  # camera ids the config marks key_area: true
    retention_days: int = 30  # the config's checks.retention_days (the county work plan's 30 days)
    key_area_retention_days: int = 90  # checks.key_area_retention_days (key areas: 90 days)
    site_id: str = ""
    site_name: str = ""
    # event id -> its police delivery (outbox row, DC-09 first): state, acked_ms, receiver
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Segment:
    start_ms: int
    end_ms: int
    state: str


@dataclass(frozen=True, slots=True)
class Outage:
    device_id: str
    name: str
    type: str
    start_ms: int  # the offline (or link down) event; may precede the day
    end_ms: int | None  # None: still offline at the end of the period ("ongoing")
    in_day_ms: int  # the part of the outage inside the reported period
    reason: str
    maintenance_ms: int = 0  # of in_day_ms, the time inside maintenance windows (not counted as offline)


@dataclass(frozen=True, slots=True)
class Availability:
    """Time-weighted state of one device (or police receiver) over the period."""

    device_id: str
    type: str
    name: str
    location: str
    online_ms: int
    offline_ms: int
    maintenance_ms: int
    unknown_ms: int
    segments: tuple[Segment, ...]
    outages: tuple[Outage, ...]

    @property
    def measured_ms(self) -> int:
        return self.online_ms + self.offline_ms

    @property
    def rate(self) -> float | None:
        return self.online_ms / self.measured_ms if self.measured_ms else None


@dataclass(frozen=True, slots=True)
class TypeRate:
    """Online rate of all devices of one type: the sums of their times, so each hour weighs the same."""

    type: str
    devices: int
    online_ms: int
    offline_ms: int
    maintenance_ms: int
    unknown_ms: int
    outages: int

    @property
    def rate(self) -> float | None:
        measured = self.online_ms + self.offline_ms
        return self.online_ms / measured if measured else None


@dataclass(frozen=True, slots=True)
class Retention:
    device_id: str
    name: str
    key_area: bool
    verdict: str  # pass / short / stalled / unverifiable / unknown; "none" = no check that day
    retained_days: float | None
    required_days: int
    shortfall_days: float | None
    checked_ms: int | None


@dataclass(frozen=True, slots=True)
class Compliance:
    """Retention compliance of one group of cameras: how many passed out of how many are required to."""

    group: str  # "regular" (30 days) / "key_area" (90 days) / "all"
    required: int
    passed: int
    short: int
    unverified: int  # stalled, unverifiable, unknown or not checked that day


@dataclass(frozen=True, slots=True)
class Quality:
    device_id: str
    name: str
    checks: int
    failed_checks: int
    failures: dict[str, int]  # failure kind -> how many checks reported it
    last_verdict: str | None
    last_failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlarmRow:
    id: str
    device_id: str
    category: str
    kind: str
    zone: int | None
    location: str
    test: bool
    opened_ms: int
    acked_ms: int | None
    acked_by: str | None
    closed_ms: int | None
    state: str
    delivered_ms: int | None = None  # the police receiver's ACK of this alarm's report

    @property
    def ack_ms(self) -> int | None:
        return None if self.acked_ms is None else self.acked_ms - self.opened_ms

    @property
    def delivery_ms(self) -> int | None:
        """Press (alarm opened) to the police receiver's ACK."""
        return None if self.delivered_ms is None else self.delivered_ms - self.opened_ms


@dataclass(frozen=True, slots=True)
class AckStats:
    """Response (acknowledgement) times of one category's real (non-test) alarms opened that day."""

    category: str
    count: int
    acked: int
    unacked: int
    median_ms: float | None
    max_ms: int | None
    delivery_median_ms: float | None = None  # press -> police ACK
    delivery_max_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TestRecord:
    ts_ms: int
    device_id: str
    source: str  # "event" or "alarm"
    kind: str
    detail: str  # plain words, Chinese then English
    result: str = ""  # "pass" | "fail" for a test press (did the police ACK its test report), else ""


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    timezone: str
    start_ms: int
    end_ms: int  # the period's end: midnight, or "now" when the report covers today
    partial: bool  # True when the period was cut at "now"
    site_id: str
    site_name: str
    generated_ms: int
    devices: tuple[Availability, ...]  # buttons and cameras
    type_rates: dict[str, TypeRate]
    links: tuple[Availability, ...]  # police receivers (relay.link)
    retention: tuple[Retention, ...]
    compliance: tuple[Compliance, ...]
    quality: tuple[Quality, ...]
    alarms: tuple[AlarmRow, ...]
    ack_stats: dict[str, AckStats]
    tests: tuple[TestRecord, ...]
    notes: tuple[str, ...] = field(default=())
    patrol: tuple[PlanDay, ...] = field(default=())  # empty: no patrol section in the config
    patrol_problems: tuple[StoredCheckin, ...] = field(default=())  # check-ins with a note or a photo
    patrol_names: dict[str, str] = field(default_factory=dict)  # checkpoint id -> name

    @property
    def outages(self) -> tuple[Outage, ...]:
        return tuple(sorted((o for d in self.devices for o in d.outages), key=lambda o: (o.start_ms, o.device_id)))

    @property
    def empty(self) -> bool:
        """No device, link, alarm or test to report: the renderers say "no data" instead of empty tables."""
        return not (self.devices or self.links or self.alarms or self.tests or self.retention)
