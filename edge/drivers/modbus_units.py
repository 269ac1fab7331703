"""Per-unit and per-button state on a Modbus bus: samples in, events out. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.config.devices import InputRef, SerialButton
from edge.drivers.edge_detect import EdgeDetector, EdgeKind
from edge.drivers.modbus_poll import Read, plan_reads, sample
from edge.events import Event, EventKind


def input_info(ref: InputRef) -> dict[str, Any]:
    info: dict[str, Any] = {"type": ref.type, "address": ref.address}
    if ref.bit is not None:
        info["bit"] = ref.bit
    return info


@dataclass
class ButtonState:
    cfg: SerialButton
    bus: str
    press: EdgeDetector = field(init=False)
    tamper: EdgeDetector = field(init=False)
    fault: EdgeDetector = field(init=False)
    reported_online: bool | None = None  # None: nothing reported yet (unknown)
    # Levels the store last recorded: a button still held across a restart is not a new press.
    levels: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.press = EdgeDetector(self.cfg.debounce, self.levels.get("press", False))
        self.tamper = EdgeDetector(self.cfg.debounce, self.levels.get("tamper", False))
        self.fault = EdgeDetector(self.cfg.debounce)

    def base(self) -> dict[str, Any]:
        return {"transport": "serial", "bus": self.bus, "unit": self.cfg.unit}

    def on_sample(self, reads: list[Read], results: list[tuple[int, ...]], ts_ms: int) -> list[Event]:
        cfg, out = self.cfg, []
        if cfg.fault is not None:
            self.fault.feed(sample(cfg.fault, reads, results), ts_ms)
        edge = self.press.feed(sample(cfg.input, reads, results), ts_ms)
        if edge is not None:
            kind = EventKind.ALARM_PRESS if edge.kind is EdgeKind.PRESS else EventKind.ALARM_RELEASE
            payload = {**self.base(), "input": input_info(cfg.input), "latching": cfg.latching}
            if kind is EventKind.ALARM_RELEASE:
                payload["reset"] = "key" if cfg.latching else "released"
            out.append(Event(kind, cfg.id, payload, ts_ms=edge.ts_ms))
        if cfg.tamper is not None:
            t = self.tamper.feed(sample(cfg.tamper, reads, results), ts_ms)
            if t is not None:
                state = "active" if t.kind is EdgeKind.PRESS else "restored"
                payload = {**self.base(), "input": input_info(cfg.tamper), "state": state}
                out.append(Event(EventKind.DEVICE_TAMPER, cfg.id, payload, ts_ms=t.ts_ms))
        return out

    def settled(self) -> bool:
        return self.press.settled and self.tamper.settled and self.fault.settled

    def availability(self, unit_online: bool, reason: str, ts_ms: int) -> Event | None:
        """The device.online/offline event if this button's availability changed."""
        faulted = self.cfg.fault is not None and self.fault.level
        online = unit_online and not faulted
        if online == self.reported_online:
            return None
        self.reported_online = online
        payload: dict[str, Any] = {**self.base(), "type": "button"}
        if not online:
            payload["reason"] = "fault" if unit_online else reason
            return Event(EventKind.DEVICE_OFFLINE, self.cfg.id, payload, ts_ms=ts_ms)
        return Event(EventKind.DEVICE_ONLINE, self.cfg.id, payload, ts_ms=ts_ms)


@dataclass
class UnitState:
    unit: int
    buttons: list[ButtonState]
    offline_after: int
    # With the default offline_after, also offline after this long without a reply (>= 2 failures):
    # when many units are dead a round stretches, and counting polls alone would overshoot 10 s.
    offline_after_ms: int | None = None
    reads: list[Read] = field(init=False)
    online: bool | None = None
    failures: int = 0  # consecutive
    first_failure_ms: int = 0
    polls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_ok_ms: int | None = None
    # The last reply's values while they changed nothing and left no change half-confirmed: the same
    # values again (a quiet unit, almost every poll) change nothing either, so they are not re-judged.
    _quiet: list[tuple[int, ...]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        refs: list[InputRef] = []
        for b in self.buttons:
            refs.extend(r for r in (b.cfg.input, b.cfg.tamper, b.cfg.fault) if r is not None)
        self.reads = plan_reads(refs)

    def count(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1

    def succeeded(self, results: list[tuple[int, ...]], ts_ms: int) -> list[Event]:
        self.polls += 1
        self.failures = 0
        self.last_ok_ms = ts_ms
        if self.online and results == self._quiet:
            return []
        self.online = True
        events: list[Event] = []
        for b in self.buttons:
            changes = b.on_sample(self.reads, results, ts_ms)
            # Availability first, so a press seen on return follows the unit's device.online.
            if (ev := b.availability(True, "", ts_ms)) is not None:
                events.append(ev)
            events.extend(changes)
        self._quiet = results if not events and all(b.settled() for b in self.buttons) else None
        return events

    def failed(self, reason: str, ts_ms: int) -> list[Event]:
        """A poll without a usable reply; offline after `offline_after` in a row."""
        self.polls += 1
        self.failures += 1
        self._quiet = None
        if self.failures == 1:
            self.first_failure_ms = ts_ms
        for b in self.buttons:
            b.press.reset_run()
            b.tamper.reset_run()
        if self.online is False:
            return []
        long_silent = (
            self.offline_after_ms is not None
            and self.failures >= 2
            and ts_ms - self.first_failure_ms >= self.offline_after_ms
        )
        if self.failures < self.offline_after and not long_silent:
            return []
        return self.mark_offline(reason, ts_ms)

    def due(self, cycle: int, probe_every: int) -> bool:
        """Offline units are probed every `probe_every` rounds, so dead units do not slow live ones."""
        return self.online is not False or cycle % probe_every == 0

    def mark_offline(self, reason: str, ts_ms: int) -> list[Event]:
        self.online = False
        self._quiet = None
        return [ev for b in self.buttons if (ev := b.availability(False, reason, ts_ms)) is not None]

    def diagnostics(self) -> dict[str, Any]:
        state = "unknown" if self.online is None else ("online" if self.online else "offline")
        return {
            "state": state,
            "polls": self.polls,
            "consecutive_failures": self.failures,
            "errors": dict(self.errors),
            "last_ok_ms": self.last_ok_ms,
            "buttons": [b.cfg.id for b in self.buttons],
        }
