"""Carry out the engine's actions inside the caller's SQLite transaction (the event's own commit).

Everything except escalation webhooks lands in that transaction: alarms and flags, device states,
outbox rows for the police, and change-feed rows for the live stream. Webhook calls are returned so
the runtime makes them after the commit.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable

from prometheus_client import Counter

from edge.events import iso_ms
from edge.relay.message import PoliceMessage
from edge.rules.actions import Action, CloseFlag, EscalateAlarm, Notify, OpenAlarm, Relay, SetDeviceState
from edge.states import AlarmCategory, AlarmState
from edge.store import alarms, changes
from edge.store.devices import set_state
from edge.store.misc import audit

log = logging.getLogger(__name__)

ACTIONS = Counter("edge_rules_actions_total", "Actions the rule engine carried out", ["type"])
UNSENT = Counter(
    "edge_rules_relay_unconfigured_total", "Police reports decided while no police section is configured", ["code"]
)

# Who the audit trail names for what the engine does on its own (closing a recovered device's flag).
SYSTEM_ACTOR = "system:rules"

PoliceSink = Callable[[sqlite3.Connection, PoliceMessage], None]


def close_flag(conn: sqlite3.Connection, action: CloseFlag) -> None:
    """Only flags close by themselves; the WHERE clause makes sure an emergency alarm never does."""
    cur = conn.execute(
        "UPDATE alarms SET state=?, closed_ms=?, closed_by=?, close_reason=?, updated_ms=? "
        "WHERE id=? AND category=? AND state!=?",
        (
            AlarmState.CLOSED,
            action.ts_ms,
            SYSTEM_ACTOR,
            action.reason,
            action.ts_ms,
            action.alarm_id,
            AlarmCategory.FLAG,
            AlarmState.CLOSED,
        ),
    )
    if cur.rowcount:
        audit(conn, SYSTEM_ACTOR, "flag.clear", action.alarm_id, {"reason": action.reason})
        changes.record_change(conn, changes.ALARM, action.alarm_id, {"state": AlarmState.CLOSED, "by": SYSTEM_ACTOR})


def _open(conn: sqlite3.Connection, a: OpenAlarm) -> None:
    alarms.open_alarm(
        conn,
        alarm_id=a.alarm_id,
        event_id=a.event_id,
        device_id=a.device_id,
        category=a.category,
        kind=a.kind,
        severity=a.severity,
        message=a.message,
        zone=a.zone,
        location=a.location,
        test=a.test,
        opened_ms=a.opened_ms,
        extra={"message_en": a.message_en, "rule": a.rule},
    )


def _device(conn: sqlite3.Connection, a: SetDeviceState) -> None:
    set_state(conn, a.device_id, a.state, list(a.reasons), a.since_ms, a.last_seen_ms, a.maintenance_until_ms)
    changes.record_change(
        conn,
        changes.DEVICE,
        a.device_id,
        {
            "state": a.state,
            "reasons": list(a.reasons),
            "since": iso_ms(a.since_ms),
            "maintenance_until": iso_ms(a.maintenance_until_ms) if a.maintenance_until_ms else None,
            "maintenance_until_ms": a.maintenance_until_ms,  # the daily report closes windows on it
        },
    )


def apply_actions(conn: sqlite3.Connection, actions: Iterable[Action], police: PoliceSink | None) -> list[Notify]:
    """Apply all but the webhook calls, which are returned for after the commit."""
    later: list[Notify] = []
    for action in actions:
        ACTIONS.labels(type=type(action).__name__).inc()
        match action:
            case Relay(message=msg):
                if police is None:
                    UNSENT.labels(code=msg.code.name).inc()
                    log.warning(
                        "rules: %s for %s decided but no police section is configured", msg.code.name, msg.device_id
                    )
                else:
                    police(conn, msg)
            case OpenAlarm():
                _open(conn, action)
            case EscalateAlarm(alarm_id=alarm_id, severity=severity, ts_ms=ts):
                alarms.escalate(conn, alarm_id, severity, ts)
            case CloseFlag():
                close_flag(conn, action)
            case SetDeviceState():
                _device(conn, action)
            case Notify():
                later.append(action)
    return later
