"""Per-camera state from successive health rounds, and the events its transitions produce.

Pure logic: results in, events out. Polled-device availability as DESIGN.md section 8 says: offline
after N consecutive failed rounds, and one good round brings the camera back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edge.events import Event, EventKind
from edge.onvif.health import Health, HealthResult

# A camera whose drift verdict has not changed still gets a camera.clock event this often, so the
# dashboard's drift figure stays current without an event per camera per minute.
CLOCK_REFRESH_S = 3600.0


class CameraState(StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    DEGRADED = "degraded"
    AUTH_FAILED = "auth_failed"
    UNREACHABLE = "unreachable"
    OFFLINE = "offline"


@dataclass(slots=True)
class CameraTracker:
    device_id: str
    offline_after: int
    state: CameraState = CameraState.UNKNOWN
    reasons: list[str] = field(default_factory=list)
    failed_rounds: int = 0
    reported: str | None = None  # "online" / "offline" as last told to the rest of the system
    reported_detail: tuple[str, tuple[str, ...]] | None = None
    last: HealthResult | None = None
    _clock_verdict: str | None = None
    _clock_sent_at: float = 0.0

    def update(self, res: HealthResult, now: float) -> list[Event]:
        """Fold one health round in; return the events for any transition (and the clock)."""
        self.last = res
        events: list[Event] = []
        if res.state in (Health.AUTH_FAILED, Health.UNREACHABLE):
            self.failed_rounds += 1
            self.reasons = [str(res.state)]
            # A wrong password is an answer, not a flaky network: a camera never yet reported goes
            # straight to offline instead of sitting in `unknown` for offline_after rounds.
            first_refusal = self.reported is None and res.state is Health.AUTH_FAILED
            if self.failed_rounds >= self.offline_after or first_refusal:
                self.state = CameraState.OFFLINE
                if self.reported != "offline":
                    self.reported = "offline"
                    self.reported_detail = None
                    events.append(
                        self._event(
                            EventKind.DEVICE_OFFLINE,
                            {
                                "reason": str(res.state),
                                "detail": res.detail,
                                "rounds": self.failed_rounds,
                            },
                        )
                    )
            else:
                self.state = CameraState(str(res.state))
            return events
        self.failed_rounds = 0
        self.state = CameraState(str(res.state))
        self.reasons = list(res.reasons)
        detail = (str(self.state), tuple(self.reasons))
        if self.reported != "online" or self.reported_detail != detail:
            self.reported = "online"
            self.reported_detail = detail
            events.append(self._event(EventKind.DEVICE_ONLINE, {"state": str(self.state), "reasons": self.reasons}))
        if res.drift_s is not None and res.clock_ok is not None:
            verdict = "pass" if res.clock_ok else "fail"
            if verdict != self._clock_verdict or now - self._clock_sent_at >= CLOCK_REFRESH_S:
                self._clock_verdict, self._clock_sent_at = verdict, now
                events.append(self._event(EventKind.CAMERA_CLOCK, {"drift_s": res.drift_s, "verdict": verdict}))
        return events

    def _event(self, kind: EventKind, payload: dict[str, Any]) -> Event:
        return Event(kind=kind, device_id=self.device_id, payload=payload)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "reasons": self.reasons,
            "failed_rounds": self.failed_rounds,
            "last": self.last.as_dict() if self.last else None,
        }
