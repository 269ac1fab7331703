"""Where every driver event lands: commit it, and what the rules make of it, in one transaction.

`Runtime.emit` is the `emit` every driver gets. Inside one SQLite transaction it stores the event,
runs the rule engine, applies its actions (alarms, flags, device states, police outbox rows, change
feed) and saves the engine state; only then does it return, so a driver that awaited it may
acknowledge its device. After the commit it calls `after_commit` (the Hub, the relay's notify) and
hands escalation webhooks to the notifier. `run()` ticks the engine about once a second.

When the store cannot be written (disk full, I/O error) an event is held in a bounded in-memory
backlog instead, and the rules' police decision for it goes to the relay's memory queue, so an alarm
still reaches the police. The backlog is retried every tick and before each new event; events are
committed strictly in arrival order, and reports already delivered from memory are recorded as
delivered in that same commit. The fault shows in `store_status()` (the API's status and healthz).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter

from edge.config import Config
from edge.events import Event, EventKind, now_ms
from edge.hub import Hub
from edge.relay.memory import MemoryQueue
from edge.relay.message import PoliceCode, PoliceMessage
from edge.rules.actions import Action, Notify, OpenAlarm, Relay
from edge.rules.apply import PoliceSink, apply_actions
from edge.rules.effects import police_message
from edge.rules.engine import Engine
from edge.rules.maintenance import MaintenanceError, check_minutes, record
from edge.rules.notify import Notifier
from edge.rules.persist import load_state, maintenance_rows, open_alarm_states, rebuild, save_state
from edge.rules.registry import engine_from_config
from edge.rules.state import EngineState
from edge.rules.step import derived_id
from edge.store import Database, changes
from edge.store.alarms import ALARM
from edge.store.devices import touch
from edge.store.events import insert_event
from edge.store.misc import put_check
from edge.store.outbox import enqueue, set_delivered_event, transports_for
from edge.store_fault import STORE_BACKLOG, STORE_DROPPED, StoreFault, is_store_full

log = logging.getLogger(__name__)

ENGINE_ERRORS = Counter("edge_rules_errors_total", "Rule engine failures (the event is still stored)", ["where"])

# Escalation, hysteresis and maintenance run on 10 s+ scales; a 1 s tick keeps them within a second.
TICK_S = 1.0
# Events held in memory while the store is full: a school's whole day of traffic is a few thousand.
# Past this, non-alarm events are dropped (counted); alarm presses are always kept.
BACKLOG_MAX = 10_000


def police_sink(
    config: Config, memory: MemoryQueue | None = None, committing: list[tuple[str, str, bool]] | None = None
) -> PoliceSink | None:
    """The outbox writer for this config, or None when no police section is configured.

    With `memory`, a report the relay already delivered from memory is written as delivered, and
    (event_id, transport, written) goes to `committing` for the runtime to settle after the commit."""
    if config.police is None:
        return None
    transports = transports_for(config.police)

    def sink(conn: sqlite3.Connection, msg: PoliceMessage) -> None:
        enqueue(conn, msg, transports)
        if memory is None or committing is None:
            return
        for t in transports:
            done = memory.delivered_info(msg.event_id, t)
            if done is not None:
                set_delivered_event(conn, msg.event_id, t, done.receiver, done.sequence, done.acked_ms)
            committing.append((msg.event_id, t, done is not None))

    return sink


# Camera check events whose latest result GET /devices/{id} shows under `checks` (DESIGN.md section 6).
CHECK_EVENTS = {
    EventKind.CAMERA_RETENTION: "retention",
    EventKind.CAMERA_QUALITY: "quality",
    EventKind.CAMERA_CLOCK: "clock",
}


def _record_check(conn: sqlite3.Connection, event: Event) -> None:
    """Keep the latest result of each camera check, in the event's own transaction."""
    name = CHECK_EVENTS.get(event.kind)
    if name is None:
        return
    verdict = event.payload.get("verdict")
    put_check(
        conn, event.device_id, name, str(verdict) if verdict is not None else "unknown", event.payload, event.ts_ms
    )


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
        self._lock = threading.RLock()  # one engine step at a time, from the loop or API threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.engine: Engine = engine_from_config(config)
        self.memory = MemoryQueue()  # reports for the relay while the store is full (outlives relay reloads)
        self._committing: list[tuple[str, str, bool]] = []
        self.police: PoliceSink | None = police_sink(config, self.memory, self._committing)
        self._backlog: deque[Event] = deque()
        self.store_fault = StoreFault()
        loaded = load_state(db, config.alarms)
        self.state: EngineState = loaded or rebuild(db, config.alarms)
        self._saved: EngineState | None = loaded  # what the store holds; None = write it all next time
        self.tick()  # take in what changed while we were down (acks, expired maintenance, due escalations)

    def update_config(self, config: Config) -> None:
        """SIGHUP after the new config validated: new rules, same state (open alarms and timers kept)."""
        engine, police = engine_from_config(config), police_sink(config, self.memory, self._committing)
        with self._lock:  # never mid-step: a step sees one config throughout
            self.config, self.engine, self.police = config, engine, police

    # --- events ---------------------------------------------------------------------------------
    async def emit(self, event: Event) -> None:
        if self._loop is None:
            self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        if not event.site:
            event = event.with_site(self.config.site.id)
        if self._backlog and not self.flush():
            self._hold(event, self.store_fault.reason or "store fault")
            return
        try:
            self._commit(event)
        except sqlite3.Error as exc:
            if not is_store_full(exc):
                raise
            self._hold(event, str(exc))

    def _commit(self, event: Event) -> None:
        with self._write() as w:
            now = self.clock()
            state = self._synced(w.conn, now, event.device_id)
            event = self.engine.mark_test(state, event, now)
            insert_event(w.conn, event)
            changes.record_change(w.conn, changes.EVENT, event.id, event.as_dict())
            touch(w.conn, event.device_id, event.ts_ms)
            _record_check(w.conn, event)
            try:
                state, actions = self.engine.on_event(state, event, now)
            except Exception:
                ENGINE_ERRORS.labels(where="event").inc()
                log.exception("rules: engine failed on %s %s; applying the fail-safe", event.kind, event.device_id)
                actions = self._fail_safe(event, now)
            w.state = self._apply(w.conn, state, actions)
        self.events_committed += 1

    # --- store full -------------------------------------------------------------------------------
    def _hold(self, event: Event, reason: str) -> None:
        """The store refused the event: keep it, and send its police reports from memory right away.

        The engine's new state is not adopted: the event is decided again when it is committed (its
        outbox rows then carry what memory already delivered), so the store never misses a step."""
        with self._lock:
            now = self.clock()
            self.store_fault.raise_(reason, now)
            alarm = event.kind is EventKind.ALARM_PRESS
            if len(self._backlog) >= BACKLOG_MAX and not alarm:
                STORE_DROPPED.inc()
                log.error("store: backlog full; dropping %s from %s", event.kind, event.device_id)
                return
            try:
                marked = self.engine.mark_test(self.state, event, now)
                _, actions = self.engine.on_event(self.state, marked, now)
            except Exception:
                ENGINE_ERRORS.labels(where="held-event").inc()
                log.exception("rules: engine failed on held %s %s; applying the fail-safe", event.kind, event.device_id)
                actions = self._fail_safe(event, now)
            self._backlog.append(event)
            STORE_BACKLOG.set(len(self._backlog))
            transports = transports_for(self.config.police)
            for action in actions:
                if isinstance(action, Relay) and transports:
                    self.memory.put(action.message, transports)
        self._after([])  # wake the relay

    def flush(self) -> bool:
        """Commit held events oldest first; True once the backlog is empty (and the fault cleared)."""
        flushed = 0
        while self._backlog:
            try:
                self._commit(self._backlog[0])
            except sqlite3.Error as exc:
                if not is_store_full(exc):
                    log.exception("store: held event could not be committed")
                self.store_fault.raise_(str(exc), self.clock())
                STORE_BACKLOG.set(len(self._backlog))
                return False
            self._backlog.popleft()
            flushed += 1
        STORE_BACKLOG.set(0)
        if self.store_fault.reason is not None:
            self.store_fault.clear(flushed)
            self.memory.forget_committed()
        return True

    def store_status(self) -> dict[str, object]:
        return self.store_fault.as_dict(len(self._backlog))

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
        with self._write() as w:
            now = self.clock() if now is None else now
            before = self._synced(w.conn, now)
            state, actions = self.engine.tick(before, now)
            if actions or self._later or self._saved is None or not _same(state, self.state):
                w.state = self._apply(w.conn, state, actions)

    async def run(self) -> None:
        """Tick until cancelled; also runs the escalation webhook notifier. Supervise it like a driver."""
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.notifier.run(), name="escalation-notifier")
            while True:
                try:
                    if not self._backlog or self.flush():
                        self.tick()
                except sqlite3.Error as exc:
                    if not is_store_full(exc):
                        ENGINE_ERRORS.labels(where="tick").inc()
                        log.exception("rules: tick failed")
                    else:  # the fault is raised (and logged) once; ticks resume when the store does
                        self.store_fault.raise_(str(exc), self.clock())
                except Exception:  # a store hiccup must not stop escalations for good
                    ENGINE_ERRORS.labels(where="tick").inc()
                    log.exception("rules: tick failed")
                await asyncio.sleep(self.tick_s)

    # --- maintenance ------------------------------------------------------------------------------
    def set_maintenance(self, device_id: str, minutes: float, actor: str) -> dict[str, Any]:
        """Safe from any thread (e.g. a sync API handler)."""
        self._known(device_id)
        limit = self.config.device_states.max_maintenance_minutes
        minutes = check_minutes(minutes, limit)
        return self._maintenance(device_id, minutes, actor)

    def clear_maintenance(self, device_id: str, actor: str) -> dict[str, Any]:
        self._known(device_id)
        return self._maintenance(device_id, None, actor)

    def _known(self, device_id: str) -> None:
        if device_id not in self.engine.ctx.devices:
            raise MaintenanceError(f"unknown device {device_id!r}")

    def _maintenance(self, device_id: str, minutes: float | None, actor: str) -> dict[str, Any]:
        with self._write() as w:
            now = self.clock()
            state = self._synced(w.conn, now)
            if minutes is None:
                until = None
                state, actions = self.engine.end_maintenance(state, device_id, now)
            else:
                until = now + int(minutes * 60_000)
                state, actions = self.engine.start_maintenance(state, device_id, until, now)
            detail = record(w.conn, actor, device_id, until)
            w.state = self._apply(w.conn, state, actions)
        return detail

    # --- plumbing ---------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[_Write]:
        """One engine step: runtime lock, then the store transaction; adopt the new state only after
        COMMIT, then run the after-commit callbacks outside the lock."""
        with self._lock:
            w = _Write()
            self._later = []
            self._committing.clear()
            with self.db.tx() as conn:
                w.conn = conn
                yield w
            self._settle_memory()
            if w.state is None:
                return
            self.state = self._saved = w.state
            later, self._later = self._later, []
        self._after(later)

    def _settle_memory(self) -> None:
        """After a commit: the outbox owns those reports now; record a delivery that raced the commit."""
        committing = list(self._committing)
        self._committing.clear()
        for event_id, transport, written in committing:
            done = self.memory.on_commit(event_id, transport)
            if done is not None and not written:
                try:
                    with self.db.tx() as conn:
                        set_delivered_event(conn, event_id, transport, done.receiver, done.sequence, done.acked_ms)
                except sqlite3.Error:  # at-least-once: the outbox sends it again, the receiver de-duplicates
                    log.warning("store: could not record memory delivery of %s", event_id)

    def _synced(self, conn: sqlite3.Connection, now: int, device_id: str | None = None) -> EngineState:
        """The engine state with what operators changed directly in the store: acks, closes, maintenance.

        For one device's event only its maintenance matters; acks and closes are taken in by the tick.
        """
        state = self.state
        if device_id is None:
            state = self.engine.sync_alarms(state, open_alarm_states(conn))
        for dev_id, until in maintenance_rows(conn, device_id).items():
            track = state.devices.get(dev_id)
            mine = track.maintenance_until_ms if track else None
            if until == mine:
                continue
            if until is not None and until > now:
                state, actions = self.engine.start_maintenance(state, dev_id, until, now)
            else:
                state, actions = self.engine.end_maintenance(state, dev_id, now)
            self._later.extend(apply_actions(conn, actions, self.police))
        return state

    def _apply(self, conn: sqlite3.Connection, state: EngineState, actions: list[Action]) -> EngineState:
        self._later.extend(apply_actions(conn, actions, self.police))
        save_state(conn, self._saved, state)
        return state

    def _after(self, later: list[Notify]) -> None:
        """Webhook calls to the notifier, then wake the stream and the relay.

        The Hub and the notifier's queue belong to the event loop: from another thread (a sync API
        handler calling set_maintenance) the callbacks are handed to the loop.
        """
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread and not loop.is_closed():
            loop.call_soon_threadsafe(self._callbacks, later)
        else:
            self._callbacks(later)

    def _callbacks(self, later: list[Notify]) -> None:
        for item in later:
            self.notifier.submit(item)
        for callback in self.after_commit:
            callback()


class _Write:
    conn: sqlite3.Connection
    state: EngineState | None = None


def _same(a: EngineState, b: EngineState) -> bool:
    """Equal apart from the clock: nothing worth a write. The engine keeps untouched items as the
    same objects, so identity is enough (and far cheaper than comparing every device every second)."""
    return (
        _same_items(a.devices, b.devices)
        and _same_items(a.alarms, b.alarms)
        and a.pending == b.pending
        and a.counts == b.counts
    )


def _same_items(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    return len(a) == len(b) and all(b.get(k) is v for k, v in a.items())
