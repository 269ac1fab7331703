"""Camera state transitions and the events they produce (pure logic, table-driven)."""

from __future__ import annotations

from edge.events import EventKind
from edge.onvif.health import Health, HealthResult
from edge.onvif.state import CLOCK_REFRESH_S, CameraState, CameraTracker


def _r(
    state: Health, reasons: list[str] | None = None, drift: float | None = 0.2, ok: bool | None = True
) -> HealthResult:
    return HealthResult(state, reasons or [], drift_s=drift, clock_ok=ok)


def _kinds(events: list) -> list[str]:  # type: ignore[type-arg]
    return [str(e.kind) for e in events]


def test_online_once_then_quiet() -> None:
    t = CameraTracker("cam", offline_after=3)
    assert _kinds(t.update(_r(Health.ONLINE), 0)) == ["device.online", "camera.clock"]
    assert t.update(_r(Health.ONLINE), 60) == []
    assert _state(t) is CameraState.ONLINE


def test_offline_after_n_failed_rounds_once_and_back() -> None:
    t = CameraTracker("cam", offline_after=3)
    t.update(_r(Health.ONLINE), 0)
    assert t.update(_r(Health.UNREACHABLE, drift=None, ok=None), 1) == []
    assert _state(t) is CameraState.UNREACHABLE
    assert t.update(_r(Health.UNREACHABLE, drift=None, ok=None), 2) == []
    ev = t.update(_r(Health.UNREACHABLE, drift=None, ok=None), 3)
    assert _kinds(ev) == ["device.offline"] and ev[0].payload["reason"] == "unreachable"
    assert _state(t) is CameraState.OFFLINE
    assert t.update(_r(Health.UNREACHABLE, drift=None, ok=None), 4) == []
    back = t.update(_r(Health.ONLINE), 5)
    assert back[0].kind is EventKind.DEVICE_ONLINE and _state(t) is CameraState.ONLINE


def test_auth_failed_is_its_own_state_and_offline_reason() -> None:
    t = CameraTracker("cam", offline_after=2)
    t.update(_r(Health.ONLINE), 0)
    t.update(_r(Health.AUTH_FAILED, drift=0.1, ok=None), 1)
    assert _state(t) is CameraState.AUTH_FAILED
    ev = t.update(_r(Health.AUTH_FAILED, drift=0.1, ok=None), 2)
    assert ev[0].payload["reason"] == "auth_failed"


def test_wrong_password_from_the_first_round_is_offline_at_once() -> None:
    """A camera never reported that refuses our password is offline after its first round, never online."""
    t = CameraTracker("cam", offline_after=3)
    ev = t.update(_r(Health.AUTH_FAILED, drift=0.1, ok=None), 0)
    assert _kinds(ev) == ["device.offline"] and ev[0].payload["reason"] == "auth_failed"
    assert _state(t) is CameraState.OFFLINE


def test_degraded_reasons_change_is_reported() -> None:
    t = CameraTracker("cam", offline_after=3)
    t.update(_r(Health.ONLINE), 0)
    ev = t.update(_r(Health.DEGRADED, ["snapshot_uri:fault"]), 1)
    assert _kinds(ev) == ["device.online"] and ev[0].payload == {"state": "degraded", "reasons": ["snapshot_uri:fault"]}
    assert t.update(_r(Health.DEGRADED, ["snapshot_uri:fault"]), 2) == []


def test_clock_event_on_verdict_change_and_hourly() -> None:
    t = CameraTracker("cam", offline_after=3)
    t.update(_r(Health.ONLINE), 0)
    ev = t.update(_r(Health.DEGRADED, ["clock_drift"], drift=600.0, ok=False), 1)
    clock = [e for e in ev if e.kind is EventKind.CAMERA_CLOCK]
    assert clock[0].payload == {"drift_s": 600.0, "verdict": "fail"}
    assert t.update(_r(Health.DEGRADED, ["clock_drift"], drift=601.0, ok=False), 2) == []
    again = t.update(_r(Health.DEGRADED, ["clock_drift"], drift=602.0, ok=False), 2 + CLOCK_REFRESH_S)
    assert _kinds(again) == ["camera.clock"]


def _state(t: CameraTracker) -> CameraState:
    """t.state read through a call, so mypy does not carry one assert's narrowing past t.update()."""
    return t.state
