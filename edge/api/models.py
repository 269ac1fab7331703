"""Response and request bodies (DESIGN.md section 6). Fields may be added; never renamed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from edge.states import AlarmCategory, AlarmState, DeviceState

DeviceType = Literal["button", "camera", "bus", "receiver"]


class RetentionCheck(BaseModel):
    verdict: str = Field(description="pass, short, stalled, unverifiable, unknown")
    retained_days: float | None = None
    required_days: int | None = None
    shortfall_days: float | None = None
    checked_at: str | None = None


class QualityCheck(BaseModel):
    verdict: str = Field(description="pass or fail")
    failures: list[str] = Field(default_factory=list, description="black, overexposed, blurred, frozen, covered, ...")
    checked_at: str | None = None


class ClockCheck(BaseModel):
    drift_s: float | None = None
    verdict: str | None = None
    checked_at: str | None = None


class DeviceChecks(BaseModel):
    retention: RetentionCheck | None = None
    quality: QualityCheck | None = None
    clock: ClockCheck | None = None


class Device(BaseModel):
    id: str
    type: DeviceType
    name: str
    location: str
    zone: int | None = None
    state: DeviceState
    reasons: list[str]
    since: str | None
    last_seen: str | None
    maintenance_until: str | None = None
    checks: DeviceChecks
    snapshot_at: str | None = Field(None, description="time of the latest camera thumbnail, if any")


class RelayInfo(BaseModel):
    state: str = Field(description="the outbox row's state (e.g. pending, delivered), or 'none' if not relayed")
    receiver: str | None = None
    acked_at: str | None = None
    attempts: int = 0


class Alarm(BaseModel):
    id: str
    event_id: str
    device_id: str
    device_name: str | None = None
    zone: int | None
    location: str
    kind: str
    category: AlarmCategory = Field(description="alarm (police-worthy) or flag (for the duty operator)")
    severity: str
    message: str
    state: AlarmState
    test: bool
    opened_at: str
    acked_at: str | None
    acked_by: str | None
    ack_note: str | None = None
    closed_at: str | None
    closed_by: str | None = None
    close_reason: str | None = None
    relay: RelayInfo
    priority: int = Field(
        ge=1,
        le=3,
        description="1 panic or tamper (紧急报警), 2 device fault (设备故障), 3 notice (提示); edge.alarms.priority",
    )
    what: str = Field(description="what happened: press, tamper, offline, link_down, retention_short, quality, ...")
    reason: str | None = Field(None, description="the device's reason code, e.g. heartbeat_timeout, lwt")
    device_type: str | None = None
    escalated_at: str | None = Field(None, description="when it escalated to `severity`, if it did")
    snapshot: str | None = Field(
        None, description="The linked camera's picture at the press: GET /api/v1/alarms/{id}/snapshot"
    )
    clip: ClipInfo | None = Field(None, description="The recorder's pre-alarm video, where a recorder is configured")


class ClipInfo(BaseModel):
    """The recorder's video of the seconds around the press (ONVIF replay)."""

    state: str = Field(description="pending (still being fetched), ready, failed")
    url: str | None = Field(None, description="GET /api/v1/alarms/{id}/clip (MP4, H.264) when ready")
    start: str | None = Field(None, description="time of the clip's first picture")
    end: str | None = Field(None, description="time of its last picture")
    bytes: int = 0
    attempts: int = 0
    error: str | None = Field(None, description="why not (yet): e.g. no_replay_service, deadline, incomplete")


class AlarmPage(BaseModel):
    items: list[Alarm]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next (older) page")


class EventOut(BaseModel):
    seq: int
    id: str
    time: str
    device_id: str
    kind: str
    payload: dict[str, Any]
    test: bool
    relay: RelayInfo | None = Field(None, description="the police report this event caused, if any")


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = None


class AckBody(BaseModel):
    note: str = Field("", max_length=500)


class CloseBody(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500)


class MaintenanceBody(BaseModel):
    # A week at most: longer than that, a device should come out of the config, not sit in test mode.
    minutes: int = Field(..., ge=1, le=7 * 24 * 60)


class MaintenanceOut(BaseModel):
    device_id: str
    maintenance: bool
    until: str | None = None


class PoliceLink(BaseModel):
    url: str
    role: str = Field(description="primary or backup")
    state: str = Field(description="up, down or unknown")
    reason: str = ""
    active: bool = False
    last_ack_at: str | None = None


class PoliceStatus(BaseModel):
    configured: bool
    receivers: int = 0
    state: str = Field("unknown", description="up (a receiver answers), down (none does) or unknown")
    links: list[PoliceLink] = Field(default_factory=list, description="one per configured receiver")
    outbox_depth: int = Field(description="reports waiting for a receiver's ACK (pending)")
    oldest_age_s: float | None = Field(None, description="age of the oldest pending report")
    failed: int = Field(0, description="reports that gave up or were rejected")
    last_ack_at: str | None = None
    link: dict[str, Any] | None = Field(None, description="the relay's full live status, when the relay runs")


class SiteInfo(BaseModel):
    id: str
    name: str
    timezone: str


class StoreInfo(BaseModel):
    ok: bool
    schema_version: int
    fault: str | None = Field(
        None, description="why the store cannot be written now (disk full); alarms go from memory"
    )
    fault_since_ms: int | None = None
    backlog: int = Field(0, description="events held in memory until the store accepts them")


class Status(BaseModel):
    site: SiteInfo
    version: str
    uptime_s: float
    store: StoreInfo
    devices: dict[str, int] = Field(description="device counts by state")
    devices_by_type: dict[str, dict[str, int]]
    alarms: dict[str, int] = Field(description="alarm counts: open, acknowledged")
    open_alarms: list[Alarm] = Field(description="every alarm not yet closed, oldest first")
    police: PoliceStatus
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Summary(BaseModel):
    """The dashboard's daily strip: today (site time zone) so far."""

    date: str
    online_rate: dict[str, float | None] = Field(
        description="per device type, the share reachable now (online or degraded); devices in maintenance left out"
    )
    retention_compliance: float | None = Field(None, description="share of cameras whose retention passes")
    quality_compliance: float | None = None
    alarms_today: int
    tests_today: int
    events_today: int


class Me(BaseModel):
    name: str
    role: Literal["viewer", "guard", "operator", "technician", "admin"]
    via: Literal["token", "session"] = "token"
    csrf: str | None = Field(None, description="For a login session: send it as X-CSRF-Token on every write")
