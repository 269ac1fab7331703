"""The rule engine: pure functions of (state, input, clock) -> (new state, actions).

`on_event` runs for every event inside its commit; `tick` runs about once a second for everything
driven by time (hysteresis hold-downs, `for:` windows, maintenance expiry, escalation). Neither does
I/O or mutates its input; the runtime applies the actions and stores the new state in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from zoneinfo import ZoneInfo

from edge.config.alarms import AlarmSettings, DeviceStateSettings
from edge.config.rules import EscalationWebhook, Rule
from edge.events import Event, EventKind
from edge.rules.actions import Action, EscalateAlarm, Notify
from edge.rules.effects import act, clear_condition, send_restore
from edge.rules.match import DeviceInfo, Outcome, evaluate
from edge.rules.signals import Signal, classify, health
from edge.rules.state import (
    ALARM_KEY,
    CHECKS,
    OFFLINE_KEYS,
    UNCHECKED,
    Condition,
    EngineState,
    Pending,
    is_quiet,
    unchecked_key,
)
from edge.rules.step import Context, Step, derived_id, event_from_dict
from edge.states import AlarmState


class Engine:
    """Immutable: rules (site rules first, then the defaults), the device inventory and settings."""

    def __init__(
        self,
        rules: Sequence[Rule],
        devices: Mapping[str, DeviceInfo],
        alarms: AlarmSettings | None = None,
        device_states: DeviceStateSettings | None = None,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.ctx = Context(
            rules=tuple(rules),
            devices=dict(devices),
            alarms=alarms or AlarmSettings(),
            device_states=device_states or DeviceStateSettings(),
            tz=ZoneInfo(timezone),
        )

    # --- events -------------------------------------------------------------------------------
    def mark_test(self, st: EngineState, event: Event, now_ms: int) -> Event:
        """The event as it must be stored: `test` when its device is in maintenance, and the release of
        a press that was a test (the police saw a 1601 for it, so a 3120 restore would be false) even
        when maintenance ended while the button was still held."""
        if event.test:
            return event
        track = st.devices.get(event.device_id)
        if track is None:
            return event
        test = track.in_maintenance(max(st.now_ms, now_ms))
        if not test and event.kind is EventKind.ALARM_RELEASE:
            held = track.conditions.get(ALARM_KEY)
            test = held is not None and held.active and bool((held.event or {}).get("test"))
        return replace(event, test=True) if test else event

    def on_event(self, st: EngineState, event: Event, now_ms: int) -> tuple[EngineState, list[Action]]:
        if event.kind is EventKind.GATEWAY_STALL:
            return self.resume(st, int(event.payload["from_ms"]), int(event.payload["to_ms"]), now_ms)
        step = Step(st, now_ms)
        dev_id = event.device_id
        if step.device(dev_id).maintenance_until_ms is not None and not step.device(dev_id).in_maintenance(step.now):
            self._end_maintenance(step, dev_id)
        event = self.mark_test(EngineState(now_ms=step.now, devices=step.devices), event, step.now)
        step.seen(dev_id, event.ts_ms)
        signal = classify(event)
        if signal is not None and signal.key in CHECKS and unchecked_key(signal.key) in step.device(dev_id).conditions:
            # a real result: the check could be made again, so "could not check" is over
            self._update_condition(step, dev_id, Signal(unchecked_key(signal.key), raising=False), event)
        if signal is not None and is_quiet(signal.key) and self._known_otherwise(step, dev_id, signal.key):
            step.refresh(dev_id)
            return step.finish()
        if signal is not None:
            self._update_condition(step, dev_id, signal, event)
        verdict = health(event)
        if verdict is not None:
            self._update_condition(step, dev_id, verdict, event)
        if signal is None or signal.matchable:
            info = self.ctx.info(dev_id, event.payload)
            streak = step.condition(dev_id, signal.key).streak if signal else 0
            local = self.ctx.local(event.ts_ms)
            outcome = evaluate(self.ctx.rules, event, info, local, streak, step.now, step.counts)
            act(self.ctx, step, event, outcome, signal, event.id)
            self._defer(step, event, signal, outcome)
        step.refresh(dev_id)
        return step.finish()

    @staticmethod
    def _known_otherwise(step: Step, dev_id: str, key: str) -> bool:
        """ "Could not check" adds nothing while the check's last real failure or an offline stands:
        that flag already tells the operator, and one device has one open flag per cause."""
        check = key.removesuffix(UNCHECKED)
        return any(step.condition(dev_id, k).active for k in (check, *OFFLINE_KEYS))

    def _update_condition(self, step: Step, dev_id: str, signal: Signal, event: Event) -> None:
        cond = step.condition(dev_id, signal.key)
        if signal.raising:
            streak = cond.streak + 1
            quality = signal.key in ("quality", unchecked_key("quality"))
            need = self.ctx.device_states.quality_failures if quality else 1
            if cond.active:
                cond = replace(cond, streak=streak, reasons=signal.reasons, clear_at_ms=None)
            elif streak >= need:
                cond = Condition(True, signal.reasons, step.now, streak, relayed=cond.relayed, event=event.as_dict())
            else:
                cond = replace(cond, streak=streak)
            step.put_condition(dev_id, signal.key, cond)
            return
        step.put_condition(dev_id, signal.key, replace(cond, streak=0))
        if not cond.active:
            return
        hold = self.ctx.device_states.hysteresis
        if signal.key == ALARM_KEY or hold <= 0:
            clear_condition(self.ctx, step, dev_id, signal.key)
        elif cond.clear_at_ms is None:
            step.put_condition(dev_id, signal.key, replace(cond, streak=0, clear_at_ms=step.now + int(hold * 1000)))

    def _defer(self, step: Step, event: Event, signal: Signal | None, outcome: Outcome) -> None:
        for rule in outcome.deferred:
            if any(p.rule == rule.name and p.device_id == event.device_id for p in step.pending):
                continue  # already timing this condition; its first report started the clock
            cond = step.condition(event.device_id, signal.key) if signal else None
            step.pending.append(
                Pending(
                    rule=rule.name,
                    device_id=event.device_id,
                    due_ms=step.now + int((rule.when.hold_for or 0) * 1000),
                    condition=signal.key if signal else None,
                    raising=signal.raising if signal else True,
                    event=event.as_dict(),
                    since_ms=cond.since_ms if cond else 0,
                )
            )

    # --- time ---------------------------------------------------------------------------------
    def tick(self, st: EngineState, now_ms: int) -> tuple[EngineState, list[Action]]:
        step = Step(st, now_ms)
        for dev_id, track in list(step.devices.items()):
            if track.maintenance_until_ms is not None and not track.in_maintenance(step.now):
                self._end_maintenance(step, dev_id)
            for key, cond in list(step.device(dev_id).conditions.items()):
                if cond.active and cond.clear_at_ms is not None and cond.clear_at_ms <= step.now:
                    clear_condition(self.ctx, step, dev_id, key)
                    step.refresh(dev_id)
        self._due_pending(step)
        self._escalate(step)
        self._prune_counts(step)
        return step.finish()

    def _due_pending(self, step: Step) -> None:
        due = [p for p in step.pending if p.due_ms <= step.now]
        step.pending = [p for p in step.pending if p.due_ms > step.now]
        for p in due:
            rule = self.ctx.rule(p.rule)
            if rule is None or not self._persisted(step, p):
                continue
            outcome = Outcome()
            outcome.merge(rule)
            event = self.mark_test(EngineState(now_ms=step.now, devices=step.devices), event_from_dict(p.event), 0)
            act(self.ctx, step, event, outcome, classify(event), derived_id(event.id, rule.name))

    @staticmethod
    def _persisted(step: Step, p: Pending) -> bool:
        if p.condition is None:
            return True
        cond = step.condition(p.device_id, p.condition)
        if p.raising:
            return cond.active and cond.clear_at_ms is None and cond.since_ms == p.since_ms
        return not cond.active or cond.clear_at_ms is not None

    def _escalate(self, step: Step) -> None:
        for alarm_id, track in list(step.alarms.items()):
            if track.acked or track.escalate_at_ms is None or track.escalate_at_ms > step.now:
                continue
            severity = track.escalate_to or track.severity
            step.actions.append(EscalateAlarm(alarm_id, severity, step.now))
            body = {
                "alarm_id": alarm_id,
                "device_id": track.device_id,
                "kind": track.kind,
                "severity": severity,
                "message": track.message,
                "opened_ms": track.opened_ms,
                "escalated_ms": step.now,
            }
            for hook in track.webhooks:
                step.actions.append(Notify(EscalationWebhook.model_validate(hook), body))
            step.alarms[alarm_id] = replace(track, severity=severity, escalate_at_ms=None)

    def _prune_counts(self, step: Step) -> None:
        for key, times in list(step.counts.items()):
            rule = self.ctx.rule(key.split("|", 1)[0])
            window = rule.when.count.within if rule and rule.when.count else 0
            if not times or times[-1] <= step.now - int(window * 1000):
                del step.counts[key]

    def resume(self, st: EngineState, from_ms: int, to_ms: int, now_ms: int) -> tuple[EngineState, list[Action]]:
        """The gateway did not run from `from_ms` to `to_ms`: every timer still running when it stopped
        (hysteresis, `for:` windows, escalation) is re-armed from the resume with the time it had left,
        so our own stall is never taken for a condition that persisted. Maintenance keeps its end: that
        is a time of day a technician was told, not a measured silence."""
        lost = max(0, to_ms - from_ms)

        def later(due: int | None) -> int | None:
            return due + lost if due is not None and due > from_ms else due

        step = Step(st, now_ms)
        for dev_id, track in list(step.devices.items()):
            conds = {k: replace(c, clear_at_ms=later(c.clear_at_ms)) for k, c in track.conditions.items()}
            step.devices[dev_id] = replace(track, conditions=conds)
        step.pending = [replace(p, due_ms=later(p.due_ms) or p.due_ms) for p in step.pending]
        for alarm_id, a in list(step.alarms.items()):
            step.alarms[alarm_id] = replace(a, escalate_at_ms=later(a.escalate_at_ms))
        return step.finish()

    # --- maintenance and operators ------------------------------------------------------------
    def start_maintenance(
        self, st: EngineState, device_id: str, until_ms: int, now_ms: int
    ) -> tuple[EngineState, list[Action]]:
        step = Step(st, now_ms)
        step.devices[device_id] = replace(step.device(device_id), maintenance_until_ms=until_ms)
        step.refresh(device_id, force=True)
        return step.finish()

    def end_maintenance(self, st: EngineState, device_id: str, now_ms: int) -> tuple[EngineState, list[Action]]:
        step = Step(st, now_ms)
        if step.device(device_id).maintenance_until_ms is not None:
            self._end_maintenance(step, device_id)
        return step.finish()

    def _end_maintenance(self, step: Step, device_id: str) -> None:
        """Raise what was held during maintenance and report the restores that were owed."""
        step.devices[device_id] = replace(step.device(device_id), maintenance_until_ms=None)
        for key, cond in list(step.device(device_id).conditions.items()):
            if cond.active and cond.held and cond.event is not None and key != ALARM_KEY:
                event = event_from_dict(cond.event, test=False)
                info = self.ctx.info(device_id, event.payload)
                local = self.ctx.local(step.now)
                outcome = evaluate(self.ctx.rules, event, info, local, cond.streak, step.now, step.counts)
                act(self.ctx, step, event, outcome, classify(event), derived_id(event.id, "held"))
            elif not cond.active and cond.relayed is not None:
                send_restore(self.ctx, step, device_id, cond)
                step.put_condition(device_id, key, Condition())
        step.refresh(device_id, force=True)

    def sync_alarms(self, st: EngineState, open_states: Mapping[str, str]) -> EngineState:
        """Take in operators' acks and closes: `open_states` maps every not-closed alarm id to its state."""
        alarms = {}
        for alarm_id, track in st.alarms.items():
            if alarm_id not in open_states:
                continue  # closed by an operator
            acked = open_states[alarm_id] == AlarmState.ACKNOWLEDGED
            alarms[alarm_id] = replace(track, acked=True) if acked and not track.acked else track
        if len(alarms) == len(st.alarms) and all(alarms[k] is st.alarms[k] for k in alarms):
            return st
        return replace(st, alarms=alarms)
