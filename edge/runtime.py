"""Where every driver event lands: commit it, and what the rules make of it, in one transaction.

`Runtime.emit` is the `emit` every driver gets. Inside one SQLite transaction it stores the event,
runs the rule engine, applies its actions (alarms, flags, device states, police outbox rows, change
feed) and saves the engine state; only then does it return, so a driver that awaited it may
acknowledge its device. After the commit it calls `after_commit` (the Hub, the relay's notify) and
hands escalation webhooks to the notifier. `run()` ticks the engine about once a second.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from edge.config import Config
from edge.events import Event, EventKind, now_ms
from edge.hub import Hub
from edge.relay.message import PoliceCode, PoliceMessage
from edge.rules.actions import Action, Notify, OpenAlarm, Relay
from edge.rules.apply import PoliceSink, apply_actions
from edge.rules.effects import police_message
from edge.rules.engine import Engine
from edge.rules.maintenance import MaintenanceError, check_minutes, record
from edge.rules.notify import Notifier
from edge.rules.persist import load_state, maintenance_rows, open_alarm_states, save_state
from edge.rules.registry import engine_from_config
from edge.rules.state import EngineState
from edge.rules.step import derived_id
from edge.store import Database, changes
from edge.store.alarms import ALARM
from edge.store.devices import touch
from edge.store.events import insert_event
from edge.store.outbox import enqueue, transports_for

log = logging.getLogger(__name__)

ENGINE_ERRORS = Counter("edge_rules_errors_total", "Rule engine failures (the event is still stored)", ["where"])

# Escalation, hysteresis and maintenance run on 10 s+ scales; a 1 s tick keeps them within a second.
TICK_S = 1.0


def police_sink(config: Config) -> PoliceSink | None:
    """The outbox writer for this config, or None when no police section is configured."""
    if config.police is None:
        return None
    transports = transports_for(config.police)

    def sink(conn: sqlite3.Connection, msg: PoliceMessage) -> None:
        enqueue(conn, msg, transports)

    return sink


class Runtime:
    def __init__(
        self,
        config: Config,
        db: Database,
        hub: Hub,
        *,
        clock: Callable[[], int] = now_ms,
        notifier: Notifier | None = None,
        tick_s: float = TICK_S,
    ) -> None:
        self.config = config
        self.db = db
        self.hub = hub
        self.clock = clock
        self.notifier = notifier or Notifier()
        self.tick_s = tick_s
        self.after_commit: list[Callable[[], None]] = [hub.ring]
        self.events_committed = 0
        self._later: list[Notify] = []  # webhook calls decided in the open transaction
        self.engine: Engine = engine_from_config(config)
        self.police: PoliceSink | None = police_sink(config)
        self.state: EngineState = load_state(db, config.alarms)
        self.tick()  # take in what changed while we were down (acks, expired maintenance, due escalations)

    def update_config(self, config: Config) -> None:
        """SIGHUP after the new config validated: new rules, same state (open alarms and timers kept)."""
        engine, police = engine_from_config(config), police_sink(config)
        self.config, self.engine, self.police = config, engine, police

    # --- events ---------------------------------------------------------------------------------
    async def emit(self, event: Event) -> None:
        if not event.site:
            event = event.with_site(self.config.site.id)
        now = self.clock()
        with self.db.tx() as conn:
            state = self._synced(conn, now)
            event = self.engine.mark_test(state, event, now)
            insert_event(conn, event)
            changes.record_change(conn, changes.EVENT, event.id, event.as_dict())
            touch(conn, event.device_id, event.ts_ms)
            try:
                state, actions = self.engine.on_event(state, event, now)
            except Exception:
                ENGINE_ERRORS.labels(where="event").inc()
                log.exception("rules: engine failed on %s %s; applying the fail-safe", event.kind, event.device_id)
                actions = self._fail_safe(event, now)
            self._apply(conn, state, actions)
        self.state = state
        self.events_committed += 1
        self._after()

    def _fail_safe(self, event: Event, now: int) -> list[Action]:
        """An engine fault must not swallow an emergency: a real press is still relayed and opened."""
        if event.kind is not EventKind.ALARM_PRESS or event.test:
            return []
        info = self.engine.ctx.info(event.device_id)
        return [
            Relay(police_message(info, event.id, PoliceCode.PANIC, event.ts_ms, False)),
            OpenAlarm(
                derived_id(event.id, "fail-safe", "alarm"),
                event.id,
                event.device_id,
                ALARM,
                str(event.kind),
                "critical",
                f"一键报警：{info.name}",
                f"Panic alarm: {info.name}",
                info.zone,
                info.location,
                False,
                now,
                "fail-safe",
            ),
        ]

    # --- time -------------------------------------------------------------------------------------
    def tick(self, now: int | None = None) -> None:
        now = self.clock() if now is None else now
        with self.db.tx() as conn:
            before = self._synced(conn, now)
            state, actions = self.engine.tick(before, now)
            if not actions and not self._later and _same(state, self.state):
                return
            self._apply(conn, state, actions)
        self.state = state
        self._after()

    async def run(self) -> None:
        """Tick until cancelled; also runs the escalation webhook notifier. Supervise it like a driver."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.notifier.run(), name="escalation-notifier")
            while True:
                try:
                    self.tick()
                except Exception:  # a store hiccup must not stop escalations for good
                    ENGINE_ERRORS.labels(where="tick").inc()
                    log.exception("rules: tick failed")
                await asyncio.sleep(self.tick_s)

    # --- maintenance ------------------------------------------------------------------------------
    def set_maintenance(self, device_id: str, minutes: float, actor: str) -> dict[str, Any]:
        self._known(device_id)
        limit = self.config.device_states.max_maintenance_minutes
        now = self.clock()
        until = now + int(check_minutes(minutes, limit) * 60_000)
        return self._maintenance(device_id, until, actor, now)

    def clear_maintenance(self, device_id: str, actor: str) -> dict[str, Any]:
        self._known(device_id)
        return self._maintenance(device_id, None, actor, self.clock())

    def _known(self, device_id: str) -> None:
        if device_id not in self.engine.ctx.devices:
            raise MaintenanceError(f"unknown device {device_id!r}")

    def _maintenance(self, device_id: str, until: int | None, actor: str, now: int) -> dict[str, Any]:
        with self.db.tx() as conn:
            state = self._synced(conn, now)
            if until is None:
                state, actions = self.engine.end_maintenance(state, device_id, now)
            else:
                state, actions = self.engine.start_maintenance(state, device_id, until, now)
            detail = record(conn, actor, device_id, until)
            self._apply(conn, state, actions)
        self.state = state
        self._after()
        return detail

    # --- plumbing ---------------------------------------------------------------------------------
    def _synced(self, conn: sqlite3.Connection, now: int) -> EngineState:
        """The engine state with what operators changed directly in the store: acks, closes, maintenance.

        Opens every write: it also forgets webhook calls left over from a rolled-back transaction.
        """
        self._later = []
        state = self.engine.sync_alarms(self.state, open_alarm_states(conn))
        for device_id, until in maintenance_rows(conn).items():
            track = state.devices.get(device_id)
            mine = track.maintenance_until_ms if track else None
            if until == mine:
                continue
            if until is not None and until > now:
                state, actions = self.engine.start_maintenance(state, device_id, until, now)
            else:
                state, actions = self.engine.end_maintenance(state, device_id, now)
            self._apply(conn, state, actions)
        return state

    def _apply(self, conn: sqlite3.Connection, state: EngineState, actions: list[Action]) -> None:
        self._later.extend(apply_actions(conn, actions, self.police))
        save_state(conn, state)

    def _after(self) -> None:
        """After a commit: webhook calls to the notifier, then wake the stream and the relay."""
        later, self._later = self._later, []
        for item in later:
            self.notifier.submit(item)
        for callback in self.after_commit:
            callback()


def _same(a: EngineState, b: EngineState) -> bool:
    """Equal apart from the clock: nothing worth a write."""
    return a.devices == b.devices and a.alarms == b.alarms and a.pending == b.pending and a.counts == b.counts
