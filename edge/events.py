"""The one event type every driver emits and every consumer reads (DESIGN.md section 5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from edge.clock import CLOCK


class EventKind(StrEnum):
    ALARM_PRESS = "alarm.press"
    ALARM_RELEASE = "alarm.release"
    DEVICE_TAMPER = "device.tamper"
    DEVICE_ONLINE = "device.online"
    DEVICE_OFFLINE = "device.offline"
    CAMERA_QUALITY = "camera.quality"
    CAMERA_RETENTION = "camera.retention"
    CAMERA_CLOCK = "camera.clock"
    RELAY_LINK = "relay.link"
    # The gateway itself did not run for a while (SIGSTOP, VM pause, swap): recorded, never a device fault.
    GATEWAY_STALL = "gateway.stall"
    # A patrol round late, incomplete or missed (edge.patrol.watch): a notice for the operator.
    PATROL_ROUND = "patrol.round"


# The device id of events about the gateway process itself.
GATEWAY_DEVICE_ID = "gateway"


def now_ms() -> int:
    """Wall-clock time in UTC milliseconds, the resolution events are stored at.

    Steady: a jump of the system clock is absorbed (see edge.clock), so the deadlines stored with
    these times (escalation, hysteresis, retries) never fire early or stall."""
    return CLOCK()


def iso_ms(ts_ms: int) -> str:
    """ISO 8601 UTC with milliseconds and a Z suffix, as the API shows times."""
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at a device. Immutable; identity is `id`.

    `payload` carries kind-specific detail, e.g. ``{"reason": "no_response"}`` for
    ``device.offline`` or ``{"verdict": "fail", "failures": ["blurred"]}`` for ``camera.quality``.
    """

    kind: EventKind
    device_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    ts_ms: int = field(default_factory=now_ms)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    site: str = ""
    test: bool = False

    @property
    def time_iso(self) -> str:
        return iso_ms(self.ts_ms)

    def with_site(self, site: str) -> Event:
        return replace(self, site=site)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time_iso,
            "ts_ms": self.ts_ms,
            "site": self.site,
            "device_id": self.device_id,
            "kind": str(self.kind),
            "payload": self.payload,
            "test": self.test,
        }
