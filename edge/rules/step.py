"""One engine step's working copy of the state, and the context (rules, devices, settings) it reads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.alarms import AlarmSettings, DeviceStateSettings
from edge.config.rule_types import SEVERITIES
from edge.config.rules import Rule
from edge.events import Event, EventKind
from edge.rules.actions import Action, SetDeviceState
from edge.rules.match import DeviceInfo
from edge.rules.state import AlarmTrack, Condition, DeviceTrack, EngineState, Pending, derive_state

# Fixed namespace so ids derived from an event id are the same on every run (the engine is pure).
_NS = uuid.UUID("6f1c8e52-4b0e-4d7f-9a55-0c2b7d3e9a10")


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, ":".join(parts)))


def next_severity(severity: str) -> str:
    i = SEVERITIES.index(severity) if severity in SEVERITIES else 0
    return SEVERITIES[min(i + 1, len(SEVERITIES) - 1)]


def event_from_dict(data: Mapping[str, Any], *, test: bool | None = None) -> Event:
    return Event(
        kind=EventKind(data["kind"]),
        device_id=data["device_id"],
        payload=dict(data["payload"]),
        ts_ms=int(data["ts_ms"]),
        id=data["id"],
        site=data.get("site", ""),
        test=bool(data["test"]) if test is None else test,
    )


@dataclass(frozen=True)
class Context:
    rules: tuple[Rule, ...]
    devices: Mapping[str, DeviceInfo]
    alarms: AlarmSettings
    device_states: DeviceStateSettings
    tz: ZoneInfo

    def info(self, device_id: str, payload: Mapping[str, Any] | None = None) -> DeviceInfo:
        known = self.devices.get(device_id)
        if known is not None:
            return known
        guessed = str((payload or {}).get("type", "unknown"))
        return DeviceInfo(id=device_id, type=guessed, name=device_id)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def local(self, ts_ms: int) -> datetime:
        return datetime.fromtimestamp(ts_ms / 1000, tz=self.tz)


class Step:
    """Copy-on-write view of an `EngineState` plus the actions decided so far."""

    def __init__(self, st: EngineState, now_ms: int) -> None:
        self.now = max(st.now_ms, now_ms)  # the engine's clock never runs backwards
        self.devices: dict[str, DeviceTrack] = dict(st.devices)
        self.alarms: dict[str, AlarmTrack] = dict(st.alarms)
        self.pending: list[Pending] = list(st.pending)
        self.counts: dict[str, tuple[int, ...]] = dict(st.counts)
        self.actions: list[Action] = []

    def device(self, device_id: str) -> DeviceTrack:
        return self.devices.get(device_id) or DeviceTrack(since_ms=self.now)

    def condition(self, device_id: str, key: str) -> Condition:
        return self.device(device_id).conditions.get(key) or Condition()

    def put_condition(self, device_id: str, key: str, cond: Condition) -> None:
        track = self.device(device_id)
        self.devices[device_id] = replace(track, conditions={**track.conditions, key: cond})

    def seen(self, device_id: str, ts_ms: int) -> None:
        track = self.device(device_id)
        last = max(track.last_seen_ms or 0, ts_ms)
        self.devices[device_id] = replace(track, last_seen_ms=last)

    def refresh(self, device_id: str, *, force: bool = False) -> None:
        """Re-derive the device's state; record a change (and its time) when there is one."""
        track = self.device(device_id)
        state, reasons = derive_state(track, self.now)
        if not force and device_id in self.devices and (state, reasons) == (track.state, track.reasons):
            return
        since = self.now if state != track.state else track.since_ms
        self.devices[device_id] = replace(track, state=state, reasons=reasons, since_ms=since)
        self.actions.append(
            SetDeviceState(device_id, str(state), reasons, since, track.last_seen_ms, track.maintenance_until_ms)
        )

    def finish(self) -> tuple[EngineState, list[Action]]:
        st = EngineState(
            now_ms=self.now,
            devices=self.devices,
            alarms=self.alarms,
            pending=tuple(self.pending),
            counts=self.counts,
        )
        return st, self.actions
