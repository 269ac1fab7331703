"""A controllable-clock harness for the pure engine (no I/O): feed events and ticks, read actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.alarms import AlarmSettings, DeviceStateSettings
from edge.config.rules import Rule
from edge.events import Event, EventKind
from edge.rules.actions import Action, CloseFlag, EscalateAlarm, Notify, OpenAlarm, Relay, SetDeviceState
from edge.rules.defaults import default_rules
from edge.rules.engine import Engine
from edge.rules.match import DeviceInfo
from edge.rules.state import EngineState

TZ = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23 10:00 local: inside school hours.
T0 = int(datetime(2026, 11, 23, 10, 0, tzinfo=TZ).timestamp() * 1000)

DEVICES = {
    d.id: d
    for d in (
        DeviceInfo("gate-south", "button", "南门一键报警", "南门岗亭", zone=1, tags=("gate",)),
        DeviceInfo("dorm-a", "button", "宿舍A一键报警", "宿舍A", zone=2),
        DeviceInfo("bus1", "bus", "bus1", "/dev/ttyUSB0"),
        DeviceInfo("cam-gate", "camera", "南门枪机", "南门", tags=("gate",)),
        DeviceInfo("cam-yard", "camera", "操场球机", "操场"),
        DeviceInfo("police-receiver-1", "receiver", "主接收机", "dc09://127.0.0.1:1"),
    )
}


def rules_of(*dicts: dict[str, Any]) -> list[Rule]:
    return [Rule.model_validate(d) for d in dicts]


def make_engine(
    site_rules: Sequence[Rule] = (), *, alarms: dict[str, Any] | None = None, states: dict[str, Any] | None = None
) -> Engine:
    return Engine(
        [*site_rules, *default_rules()],
        DEVICES,
        AlarmSettings.model_validate(alarms or {}),
        DeviceStateSettings.model_validate({"hysteresis": 0, **(states or {})}),
        "Asia/Shanghai",
    )


class Sim:
    def __init__(self, engine: Engine, t0: int = T0) -> None:
        self.engine = engine
        self.state = EngineState()
        self.t0 = t0
        self.log: list[Action] = []
        self.n = 0

    def at(self, seconds: float) -> int:
        return self.t0 + int(seconds * 1000)

    def event(self, kind: str, device: str, at: float, test: bool = False, **payload: Any) -> list[Action]:
        self.n += 1
        ev = Event(EventKind(kind), device, payload, ts_ms=self.at(at), id=f"ev-{self.n}", test=test)
        ev = self.engine.mark_test(self.state, ev, self.at(at))
        self.state, actions = self.engine.on_event(self.state, ev, self.at(at))
        self.log += actions
        return actions

    def tick(self, at: float) -> list[Action]:
        self.state, actions = self.engine.tick(self.state, self.at(at))
        self.log += actions
        return actions

    def maintenance(self, device: str, at: float, minutes: float) -> list[Action]:
        self.state, actions = self.engine.start_maintenance(
            self.state, device, self.at(at) + int(minutes * 60_000), self.at(at)
        )
        self.log += actions
        return actions

    def ack_all(self) -> None:
        self.state = self.engine.sync_alarms(self.state, dict.fromkeys(self.state.alarms, "acknowledged"))

    def close(self, alarm_id: str) -> None:
        self.state = self.engine.sync_alarms(self.state, {a: "open" for a in self.state.alarms if a != alarm_id})


def relays(actions: Sequence[Action]) -> list[tuple[str, int, bool]]:
    return [(a.message.code.name, a.message.zone, a.message.test) for a in actions if isinstance(a, Relay)]


def opened(actions: Sequence[Action]) -> list[OpenAlarm]:
    return [a for a in actions if isinstance(a, OpenAlarm)]


def closed(actions: Sequence[Action]) -> list[CloseFlag]:
    return [a for a in actions if isinstance(a, CloseFlag)]


def escalated(actions: Sequence[Action]) -> list[EscalateAlarm]:
    return [a for a in actions if isinstance(a, EscalateAlarm)]


def notified(actions: Sequence[Action]) -> list[Notify]:
    return [a for a in actions if isinstance(a, Notify)]


def device_states(actions: Sequence[Action]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(a.device_id, a.state, a.reasons) for a in actions if isinstance(a, SetDeviceState)]
