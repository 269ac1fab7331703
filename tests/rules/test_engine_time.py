"""Time in the engine: for: and count windows, time-of-day windows, hysteresis, escalation, maintenance."""

from __future__ import annotations

from datetime import datetime

import pytest

from edge.config.rules import TimeWindow
from tests.rules.sim import (
    TZ,
    Sim,
    closed,
    device_states,
    escalated,
    make_engine,
    notified,
    opened,
    relays,
    rules_of,
)

SCHOOL_HOURS = {"from": "07:30", "to": "17:30", "weekdays": ["mon", "tue", "wed", "thu", "fri"]}


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        (SCHOOL_HOURS, "2026-11-23 07:30", True),  # Monday, first minute
        (SCHOOL_HOURS, "2026-11-23 17:29", True),
        (SCHOOL_HOURS, "2026-11-23 17:30", False),  # end is exclusive
        (SCHOOL_HOURS, "2026-11-28 10:00", False),  # Saturday
        ({"from": "22:00", "to": "06:00"}, "2026-11-23 23:59", True),
        ({"from": "22:00", "to": "06:00"}, "2026-11-24 05:59", True),
        ({"from": "22:00", "to": "06:00"}, "2026-11-24 06:00", False),
        ({"from": "22:00", "to": "06:00"}, "2026-11-24 12:00", False),
        # across midnight the weekday is the start's: Friday night runs into Saturday morning
        ({"from": "22:00", "to": "06:00", "weekdays": ["fri"]}, "2026-11-28 03:00", True),
        ({"from": "22:00", "to": "06:00", "weekdays": ["fri"]}, "2026-11-27 03:00", False),  # Thursday's night
        ({"from": "22:00", "to": "06:00", "weekdays": ["fri"]}, "2026-11-28 23:00", False),  # Saturday evening
        ({"from": "00:00", "to": "24:00", "weekdays": ["sat", "sun"]}, "2026-11-29 23:59", True),
        ({"from": "00:00", "to": "24:00", "weekdays": ["sat", "sun"]}, "2026-11-30 00:00", False),
    ],
)
def test_time_window(window: dict[str, object], local: str, inside: bool) -> None:
    when = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
    assert TimeWindow.model_validate(window).contains(when) is inside


AFTER_HOURS_TAMPER = {
    "name": "after-hours-tamper",
    "when": {
        "kind": "device.tamper",
        "time": [{"from": "17:30", "to": "07:30"}, {"from": "00:00", "to": "24:00", "weekdays": ["sat", "sun"]}],
    },
    "then": {"flag": {"severity": "critical", "message": "夜间防拆：{name}"}},
}


@pytest.mark.parametrize(("hour", "severity"), [(10, "major"), (20, "critical"), (3, "critical")])
def test_rule_time_window_applies_by_local_time(hour: int, severity: str) -> None:
    sim = Sim(make_engine(rules_of(AFTER_HOURS_TAMPER)))
    sim.event("device.tamper", "gate-south", (hour - 10) * 3600, state="active")
    assert [a.severity for a in opened(sim.log)] == [severity]
    assert relays(sim.log) == [("TAMPER", 1, False)]  # the default's relay still applies


GATE_CAMERA = {
    "name": "gate-camera-down",
    "when": {"kind": "device.offline", "device": "cam-gate", "time": SCHOOL_HOURS, "for": "2m"},
    "then": {"flag": {"severity": "critical", "message": "南门摄像机持续离线"}, "escalate": {"after": "1m"}},
}


def test_for_window_fires_only_if_the_condition_persists() -> None:
    sim = Sim(make_engine(rules_of(GATE_CAMERA)))
    sim.event("device.offline", "cam-gate", 0, reason="unreachable")
    assert [a.severity for a in opened(sim.log)] == ["warning"]  # the default flag, at once
    assert escalated(sim.tick(119)) == []
    up = escalated(sim.tick(120))
    assert [e.severity for e in up] == ["critical"]  # the persisting outage raises the same flag
    assert len(opened(sim.log)) == 1
    assert [e.severity for e in escalated(sim.tick(180))] == ["emergency"]  # its own escalate: after 1m


def test_for_window_dropped_when_the_device_recovers() -> None:
    sim = Sim(make_engine(rules_of(GATE_CAMERA)))
    sim.event("device.offline", "cam-gate", 0, reason="unreachable")
    sim.event("device.online", "cam-gate", 60)
    assert sim.tick(300) == []
    assert sim.state.pending == ()


def test_for_window_outside_school_hours_does_nothing_more() -> None:
    sim = Sim(make_engine(rules_of(GATE_CAMERA)))
    sim.event("device.offline", "cam-gate", 9 * 3600, reason="unreachable")  # 19:00
    sim.tick(9 * 3600 + 600)
    assert escalated(sim.log) == []


COUNT = {
    "name": "repeated-press",
    "when": {"kind": "alarm.press", "count": {"at_least": 3, "within": "5m"}},
    "then": {"flag": {"severity": "emergency", "message": "{name} 5 分钟内多次报警"}},
}


def test_count_window() -> None:
    sim = Sim(make_engine(rules_of(COUNT)))
    for t in (0, 100, 400, 450, 500):  # the first two leave the 5-minute window before the third
        sim.event("alarm.press", "gate-south", t)
    assert [a.severity for a in opened(sim.log)] == ["critical"] * 4 + ["emergency"]
    assert len(relays(sim.log)) == 5  # every press is still relayed exactly once
    sim.event("alarm.press", "gate-south", 510)
    assert opened(sim.log)[-1].severity == "critical"  # the count starts again after it fires


def test_count_is_per_device() -> None:
    sim = Sim(make_engine(rules_of(COUNT)))
    for t, dev in ((0, "gate-south"), (1, "dorm-a"), (2, "gate-south")):
        sim.event("alarm.press", dev, t)
    assert all(a.severity == "critical" for a in opened(sim.log))


def test_hysteresis_holds_a_flapping_device() -> None:
    sim = Sim(make_engine(states={"hysteresis": 20}))
    sim.event("device.offline", "dorm-a", 0, reason="heartbeat_timeout")
    for t in range(1, 9):  # flaps every second, ending offline
        sim.event("device.online" if t % 2 else "device.offline", "dorm-a", t, reason="heartbeat_timeout")
    assert relays(sim.log) == [("TROUBLE", 2, False)]
    assert len(opened(sim.log)) == 1
    sim.event("device.online", "dorm-a", 10)
    assert sim.tick(29) == []  # 19 s good: still held
    sim.tick(30)
    assert relays(sim.log)[-1] == ("TROUBLE_RESTORE", 2, False)
    assert len(closed(sim.log)) == 1
    assert str(sim.state.devices["dorm-a"].state) == "online"
    assert sim.state.devices["dorm-a"].since_ms == sim.at(30)


def test_escalation_timing_and_ack() -> None:
    hook = {"url": "http://127.0.0.1:9/principal"}
    sim = Sim(make_engine(alarms={"escalate_after": 120, "escalation": [hook]}))
    sim.event("alarm.press", "gate-south", 0)
    sim.event("alarm.press", "dorm-a", 10)
    assert sim.tick(119) == []
    first = sim.tick(120)
    assert [e.severity for e in escalated(first)] == ["emergency"]
    assert [n.webhook.url for n in notified(first)] == [hook["url"]]
    assert notified(first)[0].body["device_id"] == "gate-south"
    sim.ack_all()  # dorm-a acknowledged in time
    assert sim.tick(130) == []
    assert sim.tick(1000) == []  # escalates once only


def test_closed_alarm_is_forgotten_and_never_escalates() -> None:
    sim = Sim(make_engine())
    sim.event("alarm.press", "gate-south", 0)
    sim.close(next(iter(sim.state.alarms)))
    assert sim.state.alarms == {}
    assert sim.tick(500) == []


def test_maintenance_marks_tests_and_expires() -> None:
    sim = Sim(make_engine())
    sim.maintenance("gate-south", 0, minutes=10)
    assert device_states(sim.log)[-1][1] == "maintenance"
    sim.event("alarm.press", "gate-south", 60)
    sim.event("alarm.release", "gate-south", 61)
    sim.event("device.tamper", "gate-south", 62, state="active")
    assert relays(sim.log) == [("TEST_MANUAL", 1, True), ("TEST_MANUAL", 1, True)]
    assert opened(sim.log) == []
    sim.tick(599)
    assert str(sim.state.devices["gate-south"].state) == "maintenance"
    sim.tick(600)  # expired: the tamper still present is raised for real now
    assert relays(sim.log)[-1] == ("TAMPER", 1, False)
    assert str(sim.state.devices["gate-south"].state) == "degraded"
    sim.event("alarm.press", "gate-south", 700)
    assert relays(sim.log)[-1] == ("PANIC", 1, False)


def test_release_of_a_test_press_stays_a_test_after_maintenance_ends() -> None:
    """Issue 12 item 7: the police saw a 1601 for the press, so its release must not be a real 3120."""
    sim = Sim(make_engine())
    sim.maintenance("gate-south", 0, minutes=10)
    sim.event("alarm.press", "gate-south", 5)
    sim.state, actions = sim.engine.end_maintenance(sim.state, "gate-south", sim.at(6))
    sim.log += actions
    sim.event("alarm.release", "gate-south", 8)  # still held when test mode ended
    assert relays(sim.log) == [("TEST_MANUAL", 1, True)]
    assert opened(sim.log) == []
    sim.event("alarm.press", "gate-south", 20)  # the next press is real again, and so is its release
    sim.event("alarm.release", "gate-south", 21)
    assert relays(sim.log)[1:] == [("PANIC", 1, False), ("PANIC_RESTORE", 1, False)]


def test_release_after_a_maintenance_window_ran_out_stays_a_test() -> None:
    sim = Sim(make_engine())
    sim.maintenance("dorm-a", 0, minutes=1)
    sim.event("alarm.press", "dorm-a", 50)
    sim.tick(60)
    sim.event("alarm.release", "dorm-a", 70)
    assert relays(sim.log) == [("TEST_MANUAL", 2, True)]


def test_maintenance_holds_offline_flags_and_owes_restores() -> None:
    sim = Sim(make_engine())
    sim.event("device.offline", "dorm-a", 0, reason="heartbeat_timeout")
    sim.maintenance("dorm-a", 10, minutes=5)
    sim.event("device.online", "dorm-a", 20)  # repaired during maintenance: restore is owed, not sent
    sim.event("device.offline", "cam-gate", 20, reason="unreachable")
    assert relays(sim.log) == [("TROUBLE", 2, False)]
    sim.tick(10 + 300)
    assert relays(sim.log) == [("TROUBLE", 2, False), ("TROUBLE_RESTORE", 2, False)]


def test_offline_during_maintenance_is_raised_when_it_ends() -> None:
    sim = Sim(make_engine())
    sim.maintenance("dorm-a", 0, minutes=1)
    sim.event("device.offline", "dorm-a", 5, reason="heartbeat_timeout")
    assert relays(sim.log) == [] and opened(sim.log) == []
    sim.tick(60)
    assert relays(sim.log) == [("TROUBLE", 2, False)]
    assert len(opened(sim.log)) == 1


def test_maintenance_cannot_disarm_an_open_real_alarm() -> None:
    sim = Sim(make_engine())
    sim.event("alarm.press", "gate-south", 0)
    sim.maintenance("gate-south", 5, minutes=10)
    sim.event("alarm.release", "gate-south", 10)
    sim.event("alarm.press", "gate-south", 11)
    assert [r[0] for r in relays(sim.log)] == ["PANIC", "TEST_MANUAL"]
    assert len(sim.state.alarms) == 1
    assert [e.severity for e in escalated(sim.tick(120))] == ["emergency"]  # and it still escalates


def test_clock_never_runs_backwards() -> None:
    sim = Sim(make_engine())
    sim.event("device.offline", "dorm-a", 100, reason="x")
    sim.event("device.online", "dorm-a", 50)  # a late, out-of-order report
    assert sim.state.now_ms == sim.at(100)
    assert sim.state.devices["dorm-a"].since_ms >= sim.at(100)
