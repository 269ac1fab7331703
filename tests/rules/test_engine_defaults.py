"""Every built-in rule, table-driven through the pure engine with a controllable clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules.sim import Sim, closed, device_states, make_engine, opened, relays

# (name, steps, expected police relays, expected (category, severity) opened, expected final device state)
# A step is ("event", kind, device, at_s, payload) or ("tick", at_s).
Step = tuple[Any, ...]
CASES: list[
    tuple[str, list[Step], list[tuple[str, int, bool]], list[tuple[str, str]], tuple[str, str, tuple[str, ...]]]
] = [
    (
        "press -> PANIC zone 1 + critical alarm",
        [("event", "alarm.press", "gate-south", 0, {})],
        [("PANIC", 1, False)],
        [("alarm", "critical")],
        ("gate-south", "online", ()),
    ),
    (
        "release -> PANIC_RESTORE, no new alarm",
        [("event", "alarm.press", "dorm-a", 0, {}), ("event", "alarm.release", "dorm-a", 5, {"reset": "released"})],
        [("PANIC", 2, False), ("PANIC_RESTORE", 2, False)],
        [("alarm", "critical")],
        ("dorm-a", "online", ()),
    ),
    (
        "tamper -> TAMPER + latched flag; restore -> TAMPER_RESTORE",
        [
            ("event", "device.tamper", "gate-south", 0, {"state": "active"}),
            ("event", "device.tamper", "gate-south", 10, {"state": "restored"}),
        ],
        [("TAMPER", 1, False), ("TAMPER_RESTORE", 1, False)],
        [("flag", "major")],
        ("gate-south", "online", ()),
    ),
    (
        "button offline -> TROUBLE + flag",
        [("event", "device.offline", "dorm-a", 0, {"reason": "heartbeat_timeout"})],
        [("TROUBLE", 2, False)],
        [("flag", "major")],
        ("dorm-a", "offline", ("heartbeat_timeout",)),
    ),
    (
        "button back -> TROUBLE_RESTORE",
        [
            ("event", "device.offline", "dorm-a", 0, {"reason": "heartbeat_timeout"}),
            ("event", "device.online", "dorm-a", 30, {}),
        ],
        [("TROUBLE", 2, False), ("TROUBLE_RESTORE", 2, False)],
        [("flag", "major")],
        ("dorm-a", "online", ()),
    ),
    (
        "bus offline -> TROUBLE zone 0 + flag",
        [("event", "device.offline", "bus1", 0, {"reason": "no_response"})],
        [("TROUBLE", 0, False)],
        [("flag", "major")],
        ("bus1", "offline", ("no_response",)),
    ),
    (
        "camera offline -> flag only",
        [("event", "device.offline", "cam-gate", 0, {"reason": "unreachable"})],
        [],
        [("flag", "warning")],
        ("cam-gate", "offline", ("unreachable",)),
    ),
    (
        "camera auth failure -> flag with reason auth_failed",
        [("event", "device.offline", "cam-gate", 0, {"reason": "auth_failed"})],
        [],
        [("flag", "warning")],
        ("cam-gate", "offline", ("auth_failed",)),
    ),
    (
        "one quality failure is not enough",
        [("event", "camera.quality", "cam-yard", 0, {"verdict": "fail", "failures": ["blurred"]})],
        [],
        [],
        ("cam-yard", "online", ()),
    ),
    (
        "two consecutive quality failures -> degraded + flag",
        [
            ("event", "camera.quality", "cam-yard", 0, {"verdict": "fail", "failures": ["blurred"]}),
            ("event", "camera.quality", "cam-yard", 900, {"verdict": "fail", "failures": ["blurred"]}),
        ],
        [],
        [("flag", "warning")],
        ("cam-yard", "degraded", ("quality_blurred",)),
    ),
    (
        "a pass between failures resets the streak",
        [
            ("event", "camera.quality", "cam-yard", 0, {"verdict": "fail", "failures": ["black"]}),
            ("event", "camera.quality", "cam-yard", 900, {"verdict": "pass"}),
            ("event", "camera.quality", "cam-yard", 1800, {"verdict": "fail", "failures": ["black"]}),
        ],
        [],
        [],
        ("cam-yard", "online", ()),
    ),
    (
        "retention shortfall -> degraded retention_short + flag",
        [("event", "camera.retention", "cam-gate", 0, {"verdict": "short", "retained_days": 12, "required_days": 90})],
        [],
        [("flag", "warning")],
        ("cam-gate", "degraded", ("retention_short",)),
    ),
    (
        "clock drift -> degraded clock_drift + flag",
        [("event", "camera.clock", "cam-gate", 0, {"verdict": "fail", "drift_s": 42.0})],
        [],
        [("flag", "warning")],
        ("cam-gate", "degraded", ("clock_drift",)),
    ),
    (
        "police link down -> critical flag, receiver offline",
        [("event", "relay.link", "police-receiver-1", 0, {"receiver": "dc09://127.0.0.1:1", "state": "down"})],
        [],
        [("flag", "critical")],
        ("police-receiver-1", "offline", ("link_down",)),
    ),
]


@pytest.mark.parametrize(
    ("name", "steps", "want_relays", "want_opened", "want_state"), CASES, ids=[c[0] for c in CASES]
)
def test_default_rule(
    name: str,
    steps: list[Step],
    want_relays: list[tuple[str, int, bool]],
    want_opened: list[tuple[str, str]],
    want_state: tuple[str, str, tuple[str, ...]],
) -> None:
    sim = Sim(make_engine())
    for step in steps:
        if step[0] == "event":
            _, kind, device, at, payload = step
            sim.event(kind, device, at, **payload)
        else:
            sim.tick(step[1])
    assert relays(sim.log) == want_relays
    assert [(a.category, a.severity) for a in opened(sim.log)] == want_opened
    device = want_state[0]
    assert [s for s in device_states(sim.log) if s[0] == device][-1] == want_state
    assert str(sim.state.devices[device].state) == want_state[1]
    assert sim.state.devices[device].reasons == want_state[2]


def test_flag_clears_when_device_recovers_but_alarm_never_does() -> None:
    sim = Sim(make_engine())
    sim.event("alarm.press", "gate-south", 0)
    sim.event("device.offline", "cam-gate", 1, reason="unreachable")
    flag = opened(sim.log)[1].alarm_id
    sim.event("alarm.release", "gate-south", 2)
    sim.event("device.online", "cam-gate", 3)
    assert [c.alarm_id for c in closed(sim.log)] == [flag]
    assert len(sim.state.alarms) == 1  # the panic alarm stays open until a person closes it


def test_tamper_flag_is_latched() -> None:
    sim = Sim(make_engine())
    sim.event("device.tamper", "gate-south", 0, state="active")
    sim.event("device.tamper", "gate-south", 5, state="restored")
    assert closed(sim.log) == []
    assert len(sim.state.alarms) == 1


def test_repeated_offline_reports_do_not_repeat_trouble_or_flag() -> None:
    sim = Sim(make_engine())
    for t in range(5):
        sim.event("device.offline", "dorm-a", t, reason="heartbeat_timeout")
    assert relays(sim.log) == [("TROUBLE", 2, False)]
    assert len(opened(sim.log)) == 1


def test_every_press_is_relayed_even_while_one_is_open() -> None:
    sim = Sim(make_engine())
    for t in range(3):
        sim.event("alarm.press", "gate-south", t * 2)
        sim.event("alarm.release", "gate-south", t * 2 + 1)
    assert [r[0] for r in relays(sim.log)] == ["PANIC", "PANIC_RESTORE"] * 3
    assert len(opened(sim.log)) == 3


def test_messages_in_chinese_with_english() -> None:
    sim = Sim(make_engine())
    sim.event("device.offline", "cam-gate", 0, reason="auth_failed")
    alarm = opened(sim.log)[0]
    assert alarm.message == "摄像机离线：南门枪机（南门），原因：认证失败"
    assert alarm.message_en == "Camera offline: 南门枪机 (南门), reason: auth_failed"


def test_unknown_device_and_odd_payloads_do_not_crash() -> None:
    sim = Sim(make_engine())
    sim.event("alarm.press", "mystery", 0)
    sim.event("camera.quality", "cam-gate", 1, verdict=None, failures="not-a-list")
    sim.event("relay.link", "police-receiver-1", 2, state=17)
    assert relays(sim.log) == [("PANIC", 0, False)]


def test_police_link_flag_clears_when_the_link_is_back() -> None:
    sim = Sim(make_engine())
    sim.event("relay.link", "police-receiver-1", 0, receiver="dc09://127.0.0.1:1", state="down", reason="timeout")
    assert opened(sim.log)[0].message == "报警中心链路中断：dc09://127.0.0.1:1"
    sim.event("relay.link", "police-receiver-1", 5, receiver="dc09://127.0.0.1:1", state="up")
    assert [c.alarm_id for c in closed(sim.log)] == [opened(sim.log)[0].alarm_id]
    assert str(sim.state.devices["police-receiver-1"].state) == "online"


UNKNOWN_QUALITY: dict[str, Any] = {"verdict": "unknown", "failures": [], "error": "stream:open_failed"}


def test_could_not_check_quality_is_one_quiet_flag_not_a_failure() -> None:
    """Issue 12 item 9: 'unknown' results (5 per camera in 90 s before) open one info flag, worded as such."""
    sim = Sim(make_engine())
    for i in range(6):
        sim.event("camera.quality", "cam-yard", i * 15, **UNKNOWN_QUALITY)
    flags = opened(sim.log)
    assert [(f.severity, f.message) for f in flags] == [("info", "图像质量无法检查：操场球机（操场）")]
    assert flags[0].message_en == "Image quality could not be checked: 操场球机 (操场)"
    assert "不达标" not in flags[0].message and "异常" not in flags[0].message
    track = sim.state.devices["cam-yard"]
    assert (str(track.state), track.reasons) == ("online", ("quality_unchecked",))  # quieter: not degraded
    sim.event("camera.quality", "cam-yard", 200, verdict="pass")  # checked again: the note closes itself
    assert [c.alarm_id for c in closed(sim.log)] == [flags[0].alarm_id]
    assert (str(sim.state.devices["cam-yard"].state), sim.state.devices["cam-yard"].reasons) == ("online", ())


def test_one_unknown_quality_result_is_not_enough() -> None:
    sim = Sim(make_engine())
    sim.event("camera.quality", "cam-yard", 0, **UNKNOWN_QUALITY)
    sim.event("camera.quality", "cam-yard", 15, verdict="pass")
    sim.event("camera.quality", "cam-yard", 30, **UNKNOWN_QUALITY)
    assert opened(sim.log) == []


def test_could_not_check_beside_a_real_failure_opens_nothing() -> None:
    sim = Sim(make_engine())
    sim.event("camera.retention", "cam-gate", 0, verdict="short", retained_days=12, required_days=90)
    for i in range(1, 4):
        sim.event("camera.retention", "cam-gate", i * 60, verdict="unknown", detail="GetRecordingSummary: timeout")
    assert [f.message for f in opened(sim.log)] == ["录像保存不达标：南门枪机（南门）：保存天数不足"]
    sim.event("device.offline", "cam-yard", 0, reason="unreachable")
    for i in range(4):
        sim.event("camera.quality", "cam-yard", 10 + i, **UNKNOWN_QUALITY)
    assert [f.kind for f in opened(sim.log)] == ["camera.retention", "device.offline"]  # the offline says why


def test_retention_could_not_check_is_not_a_shortfall() -> None:
    sim = Sim(make_engine())
    sim.event("camera.retention", "cam-gate", 0, verdict="unknown", detail="GetRecordingSummary: timeout")
    sim.event("camera.retention", "cam-gate", 86_400, verdict="unknown", detail="GetRecordingSummary: timeout")
    [flag] = opened(sim.log)
    assert (flag.severity, flag.message) == ("info", "录像保存无法检查：南门枪机（南门）")
    sim.event("camera.retention", "cam-gate", 2 * 86_400, verdict="short", retained_days=12, required_days=90)
    assert [f.message for f in opened(sim.log)][1:] == ["录像保存不达标：南门枪机（南门）：保存天数不足"]
    assert [c.alarm_id for c in closed(sim.log)] == [flag.alarm_id]  # one open flag per device and cause
