"""#12 item 8: the camera's own verdict from device.online reaches the device state (pure engine)."""

from __future__ import annotations

from tests.rules.sim import Sim, make_engine


def test_degraded_online_report_shows_degraded_with_reasons() -> None:
    sim = Sim(make_engine())
    sim.event("device.online", "cam-gate", 0, state="degraded", reasons=["device_info:malformed_response"])
    track = sim.state.devices["cam-gate"]
    assert (str(track.state), track.reasons) == ("degraded", ("device_info_malformed_response",))


def test_clean_online_report_clears_the_verdict() -> None:
    sim = Sim(make_engine())
    sim.event("device.online", "cam-gate", 0, state="degraded", reasons=["checks_faulted"])
    sim.event("device.online", "cam-gate", 1, state="online", reasons=[])
    sim.tick(120)  # past the hysteresis hold-down
    assert str(sim.state.devices["cam-gate"].state) == "online"
