"""Hypothesis: safety properties of the engine over any sequence of events, ticks and operator actions."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.events import Event, EventKind
from edge.relay.message import PoliceCode
from edge.rules.actions import Action, CloseFlag, OpenAlarm, Relay
from edge.rules.state import EngineState
from tests.rules.sim import DEVICES, T0, make_engine, rules_of

PAYLOADS: dict[str, list[dict[str, Any]]] = {
    "alarm.press": [{}],
    "alarm.release": [{}, {"reset": "key"}],
    "device.tamper": [{"state": "active"}, {"state": "restored"}, {"active": False}],
    "device.offline": [{"reason": "heartbeat_timeout"}, {"reason": "auth_failed"}, {}],
    "device.online": [{}],
    "camera.quality": [{"verdict": "fail", "failures": ["blurred"]}, {"verdict": "pass"}, {"verdict": "unknown"}],
    "camera.retention": [{"verdict": "short"}, {"verdict": "pass"}, {"verdict": "stalled"}],
    "camera.clock": [{"verdict": "fail", "drift_s": 9}, {"verdict": "pass"}],
    "relay.link": [{"state": "down"}, {"state": "up"}],
}
DEVICE_IDS = [*DEVICES, "stranger"]

event_op = st.tuples(
    st.just("event"),
    st.sampled_from(sorted(PAYLOADS)),
    st.sampled_from(DEVICE_IDS),
    st.integers(-60, 400),  # seconds since the previous op; negative = the wall clock stepped back
    st.booleans(),  # the driver's own test flag
    st.integers(0, 2),  # payload choice
    st.integers(-30, 0),  # the device's clock may lag ours
)
tick_op = st.tuples(st.just("tick"), st.integers(-60, 400))
maint_op = st.tuples(st.just("maint"), st.sampled_from(DEVICE_IDS), st.integers(1, 30))
end_op = st.tuples(st.just("end"), st.sampled_from(DEVICE_IDS))
ack_op = st.tuples(st.just("ack"), st.integers(0, 5))
close_op = st.tuples(st.just("close"), st.integers(0, 5))
ops = st.lists(st.one_of(event_op, event_op, event_op, tick_op, maint_op, end_op, ack_op, close_op), max_size=60)

SITE_RULES = rules_of(
    {
        "name": "night",
        "when": {"kind": "device.tamper", "time": {"from": "20:00", "to": "06:00"}},
        "then": {"flag": {"severity": "critical", "message": "夜间防拆"}, "escalate": {"after": 30}},
    },
    {
        "name": "cam-persist",
        "when": {"kind": "device.offline", "type": "camera", "for": "3m"},
        "then": {"flag": {"severity": "major", "message": "持续离线"}},
    },
    {
        "name": "burst",
        "when": {"kind": "alarm.press", "count": {"at_least": 2, "within": "2m"}},
        "then": {"relay": "PANIC", "flag": {"severity": "emergency", "message": "连续报警"}},
    },
    {"name": "quiet-clock", "when": {"kind": "camera.clock", "device": "cam-yard"}, "then": {"suppress": True}},
)


def _check_step(event: Event | None, actions: list[Action], alarm_ids: set[str]) -> None:
    relays = [a.message for a in actions if isinstance(a, Relay)]
    if event is not None and event.kind is EventKind.ALARM_PRESS and not event.test:
        mine = [m for m in relays if m.event_id == event.id]
        assert len(mine) == 1 and mine[0].code is PoliceCode.PANIC and not mine[0].test
        assert sum(m.code is PoliceCode.PANIC for m in relays) == 1
    if event is not None and event.test:
        for m in relays:
            assert m.test and m.code is PoliceCode.TEST_MANUAL
    for m in relays:
        assert not (m.test and m.code is not PoliceCode.TEST_MANUAL)
    alarm_ids |= {a.alarm_id for a in actions if isinstance(a, OpenAlarm) and a.category == "alarm"}
    assert not {a.alarm_id for a in actions if isinstance(a, CloseFlag)} & alarm_ids  # alarms never auto-close


@settings(max_examples=300, deadline=None)
@given(ops, st.booleans())
def test_safety_properties(seq: list[tuple[Any, ...]], with_site_rules: bool) -> None:
    engine = make_engine(SITE_RULES if with_site_rules else (), states={"hysteresis": 15})
    state, now, n = EngineState(), T0, 0
    alarm_ids: set[str] = set()
    for op in seq:
        before = state
        event: Event | None = None
        if op[0] == "event":
            _, kind, device, dt, test, choice, lag = op
            now += dt * 1000
            n += 1
            payloads = PAYLOADS[kind]
            event = Event(
                EventKind(kind), device, payloads[choice % len(payloads)], ts_ms=now + lag * 1000, id=f"e{n}", test=test
            )
            event = engine.mark_test(state, event, now)
            state, actions = engine.on_event(state, event, now)
        elif op[0] == "tick":
            now += op[1] * 1000
            state, actions = engine.tick(state, now)
        elif op[0] == "maint":
            state, actions = engine.start_maintenance(state, op[1], now + op[2] * 60_000, now)
        elif op[0] == "end":
            state, actions = engine.end_maintenance(state, op[1], now)
        else:
            ids = sorted(state.alarms)
            target = ids[op[1] % len(ids)] if ids else None
            view = {a: ("acknowledged" if op[0] == "ack" and a == target else "open") for a in ids}
            if op[0] == "close" and target:
                del view[target]
            state, actions = engine.sync_alarms(state, view), []
        _check_step(event, actions, alarm_ids)
        # time never runs backwards, for the engine or any device
        assert state.now_ms >= before.now_ms
        for dev_id, track in state.devices.items():
            old = before.devices.get(dev_id)
            assert old is None or track.since_ms >= old.since_ms
            assert track.since_ms <= max(state.now_ms, T0)
        assert EngineState.from_json(json.loads(json.dumps(state.to_json()))) == state
