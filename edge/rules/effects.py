"""Turning matched rules and cleared conditions into actions, with the safety rules applied:
test traffic only ever reaches the police as TEST_MANUAL, one report and one flag per activation,
and a flag (never an alarm) closes itself when its condition clears.
"""

from __future__ import annotations

from dataclasses import replace
from string import Formatter
from typing import Any

from edge.config.rule_types import SEVERITIES
from edge.config.rules import EscalateSpec, FlagSpec
from edge.events import Event, EventKind
from edge.relay.message import PoliceCode, PoliceMessage
from edge.rules.actions import CloseFlag, EscalateAlarm, OpenAlarm, Relay
from edge.rules.match import DeviceInfo, Outcome
from edge.rules.signals import Signal, reason_zh
from edge.rules.state import ALARM_KEY, AlarmTrack, Condition
from edge.rules.step import Context, Step, derived_id, next_severity
from edge.states import AlarmCategory

RESTORES = {
    PoliceCode.PANIC: PoliceCode.PANIC_RESTORE,
    PoliceCode.TAMPER: PoliceCode.TAMPER_RESTORE,
    PoliceCode.TROUBLE: PoliceCode.TROUBLE_RESTORE,
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, info: DeviceInfo, event: Event, severity: str, *, english: bool = False) -> str:
    """Fill a message template; reasons in Chinese, or as their ids for the English text."""
    p = event.payload
    raw = p.get("failures")
    failures = [str(f) for f in raw] if isinstance(raw, list) else []
    reason = str(p.get("reason") or p.get("verdict") or "")
    if not english:
        reason = reason_zh(reason)
        failures = [reason_zh(f"quality_{f}") for f in failures]
    values = _Blank(
        name=info.name,
        location=info.location or "-",
        zone=info.zone if info.zone is not None else "-",
        device=info.id,
        reason=reason,
        failures=(", " if english else "、").join(failures),
        receiver=str(p.get("receiver") or info.name),
        kind=str(event.kind),
        severity=severity,
    )
    return Formatter().vformat(template, (), values)


def police_message(info: DeviceInfo, event_id: str, code: PoliceCode, ts_ms: int, test: bool) -> PoliceMessage:
    return PoliceMessage(
        event_id=event_id,
        device_id=info.id,
        code=code,
        zone=info.zone or 0,
        ts_ms=ts_ms,
        test=test,
        location=info.location,
        coordinates=info.coordinates,
        verify_url=info.verify_url,
    )


def act(ctx: Context, step: Step, event: Event, outcome: Outcome, signal: Signal | None, ref: str) -> None:
    """Carry out a merged outcome for `event`; `ref` seeds the ids of what it creates."""
    info = ctx.info(event.device_id, event.payload)
    tracked = signal is not None and signal.key != ALARM_KEY and signal.raising
    cond = step.condition(event.device_id, signal.key) if tracked and signal else None
    if cond is not None and not cond.active:
        return  # not yet (e.g. quality needs N failures in a row)
    if outcome.relay is not None:
        code = outcome.relay[0]
        if event.test:
            if code.is_alarm:  # a technician's press or tamper test: a test report, never an alarm
                step.actions.append(Relay(police_message(info, ref, PoliceCode.TEST_MANUAL, event.ts_ms, True)))
        elif cond is None:
            step.actions.append(Relay(police_message(info, ref, code, event.ts_ms, False)))
        elif cond.relayed is None:
            step.actions.append(Relay(police_message(info, ref, code, event.ts_ms, False)))
            cond = replace(cond, relayed=code.name)
    if event.test:
        if cond is not None and signal is not None:
            step.put_condition(event.device_id, signal.key, replace(cond, held=True))
        return
    if outcome.flag is not None:
        key = signal.key if cond is not None and signal is not None else None
        cond = _flag(ctx, step, event, info, outcome, cond, key, ref)
    if cond is not None and signal is not None:
        step.put_condition(event.device_id, signal.key, replace(cond, held=False))


def _escalation(ctx: Context, outcome: Outcome, category: str) -> EscalateSpec | None:
    if outcome.escalate is not None:
        return outcome.escalate[0]
    return EscalateSpec() if category == AlarmCategory.ALARM or ctx.alarms.flags_escalate else None


def _flag(
    ctx: Context,
    step: Step,
    event: Event,
    info: DeviceInfo,
    outcome: Outcome,
    cond: Condition | None,
    key: str | None,
    ref: str,
) -> Condition | None:
    assert outcome.flag is not None
    spec, rule = outcome.flag
    category = AlarmCategory.ALARM if event.kind is EventKind.ALARM_PRESS else AlarmCategory.FLAG
    esc = _escalation(ctx, outcome, category)
    open_ids = [i for i in (cond.flagged if cond else ()) if i in step.alarms]
    if open_ids:  # already flagged for this activation: a stricter rule may only raise it
        _upgrade(ctx, step, open_ids[0], spec, esc)
        return cond
    if cond is not None and cond.flagged:
        return cond  # flagged once already and an operator closed it: do not nag again
    alarm_id = derived_id(ref, rule, "alarm")
    step.actions.append(
        OpenAlarm(
            alarm_id=alarm_id,
            event_id=event.id,
            device_id=event.device_id,
            category=category,
            kind=str(event.kind),
            severity=spec.severity,
            message=render(spec.message, info, event, spec.severity),
            message_en=render(spec.message_en, info, event, spec.severity, english=True),
            zone=info.zone,
            location=info.location,
            test=False,
            opened_ms=step.now,
            rule=rule,
        )
    )
    step.alarms[alarm_id] = AlarmTrack(
        device_id=event.device_id,
        category=category,
        condition=key,
        severity=spec.severity,
        opened_ms=step.now,
        kind=str(event.kind),
        message=render(spec.message, info, event, spec.severity),
        latched=spec.latch or category == AlarmCategory.ALARM,
        **_escalation_fields(ctx, step, spec.severity, esc),
    )
    return None if cond is None else replace(cond, flagged=(*cond.flagged, alarm_id))


def _escalation_fields(ctx: Context, step: Step, severity: str, esc: EscalateSpec | None) -> dict[str, Any]:
    if esc is None:
        return {}
    after = esc.after if esc.after is not None else ctx.alarms.escalate_after
    hooks = [*esc.webhooks, *ctx.alarms.escalation]
    return {
        "escalate_at_ms": step.now + int(after * 1000),
        "escalate_to": esc.severity or next_severity(severity),
        "webhooks": tuple({"url": h.url, "secret_file": str(h.secret_file) if h.secret_file else None} for h in hooks),
    }


def _upgrade(ctx: Context, step: Step, alarm_id: str, spec: FlagSpec, esc: EscalateSpec | None) -> None:
    track = step.alarms[alarm_id]
    if SEVERITIES.index(spec.severity) > SEVERITIES.index(track.severity):
        step.actions.append(EscalateAlarm(alarm_id, spec.severity, step.now))
        track = replace(track, severity=spec.severity)
    if esc is not None and track.escalate_at_ms is None and not track.acked:
        track = replace(track, **_escalation_fields(ctx, step, track.severity, esc))
    step.alarms[alarm_id] = track


def clear_condition(ctx: Context, step: Step, device_id: str, key: str) -> None:
    """The condition is over: close its flags (unless latched) and report the restore that is owed.

    In maintenance the restore stays owed (only test traffic goes out) and is sent when it ends.
    """
    cond = step.condition(device_id, key)
    for alarm_id in cond.flagged:
        track = step.alarms.get(alarm_id)
        if track is not None and not track.latched:
            step.actions.append(CloseFlag(alarm_id, "recovered 已恢复", step.now))
            del step.alarms[alarm_id]
    owed = cond.relayed
    if owed is not None and not step.device(device_id).in_maintenance(step.now):
        send_restore(ctx, step, device_id, cond)
        owed = None
    step.put_condition(device_id, key, Condition(relayed=owed, event=cond.event if owed else None))


def send_restore(ctx: Context, step: Step, device_id: str, cond: Condition) -> None:
    restore = RESTORES.get(PoliceCode[cond.relayed]) if cond.relayed else None
    if restore is None:
        return
    ref = derived_id(str((cond.event or {}).get("id", device_id)), str(cond.since_ms), "restore")
    step.actions.append(Relay(police_message(ctx.info(device_id), ref, restore, step.now, False)))
