"""The one writer of alarm, device and maintenance state: every change enters one ordered queue.

Driver events (`Runtime.emit`, the `emit` every driver gets), camera results, the rule clock's ticks
and operators' commands (`acknowledge`, `close`, `set_maintenance`, `clear_maintenance`; the API
submits them and awaits the result) are carried out one at a time, in submission order, by the
writer thread. Each is one SQLite transaction: store the event or the command's change, run the rule
engine, apply its actions (alarms, flags, device states, police outbox rows, change feed) and save
the engine state; only then does the awaiting caller resume, so a driver may acknowledge its device.
Commits are off the event loop: a slow disk delays the queue, never a button poll or an API answer.
After the commit `after_commit` (the Hub, the relay's notify) runs on the loop and escalation
webhooks go to the notifier. `run()` ticks the engine about once a second.

After the process itself stalled (`edge.clock.StallWatch`), a `gateway.stall` event is committed
before the next tick; the engine re-arms its timers from the resume (`Engine.resume`).

When the store cannot be written (disk full, I/O error) an event is held in a bounded in-memory
backlog instead, and the rules' police decision for it goes to the relay's memory queue, so an alarm
still reaches the police. The backlog is retried every tick and before each new event; events are
committed strictly in arrival order, and reports already delivered from memory are recorded as
delivered in that same commit. The fault shows in `store_status()` (the API's status and healthz).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from prometheus_client import Counter

from edge.camworker.protocol import Snapshot
from edge.clock import LOOP_STALLS, StallWatch
from edge.config import Config
from edge.core.apply import PoliceSink, apply_actions
from edge.core.maintenance import MaintenanceError, check_minutes, record
from edge.core.notify import Notifier, webhooks_configured
from edge.core.persist import load_state, maintenance_rows, open_alarm_states, rebuild, save_state
from edge.core.registry import engine_from_config
from edge.events import GATEWAY_DEVICE_ID, Event, EventKind, iso_ms, now_ms
from edge.gb28181 import routing as gb28181_routing
from edge.hub import Hub
from edge.media import MediaSigner
from edge.patrol.checkin import Checkin
from edge.relay.memory import MemoryQueue
from edge.relay.message import PoliceCode, PoliceMessage
from edge.rules.actions import Action, Notify, OpenAlarm, Relay
from edge.rules.effects import police_message
from edge.rules.engine import Engine
from edge.rules.state import EngineState
from edge.rules.step import derived_id
from edge.states import AlarmCategory
from edge.store import Database, changes
from edge.store.alarms import acknowledge_in, close_in
from edge.store.devices import touch
from edge.store.events import insert_event
from edge.store.misc import audit, put_check, put_snapshot
from edge.store.outbox import enqueue, set_delivered_event, transports_for
from edge.store.patrol import insert_checkins
from edge.store_fault import STORE_BACKLOG, STORE_DROPPED, StoreFault, is_store_full

log = logging.getLogger(__name__)

T = TypeVar("T")

ENGINE_ERRORS = Counter("edge_rules_errors_total", "Rule engine failures (the event is still stored)", ["where"])

# Escalation, hysteresis and maintenance run on 10 s+ scales; a 1 s tick keeps them within a second.
TICK_S = 1.0
# Events held in memory while the store is full: a school's whole day of traffic is a few thousand.
# Past this, non-alarm events are dropped (counted); alarm presses are always kept.
BACKLOG_MAX = 10_000


def police_sink(
    config: Config,
    memory: MemoryQueue | None = None,
    committing: list[tuple[str, str, bool]] | None = None,
    signer: MediaSigner | None = None,
) -> PoliceSink | None:
    """The outbox writer for this config, or None when no police section is configured.

    With `memory`, a report the relay already delivered from memory is written as delivered, and
    (event_id, transport, written) goes to `committing` for the runtime to settle after the commit."""
    if config.police is None and config.gb28181 is None:
        return None
    base = transports_for(config.police)
    with_camera = {b.id for b in config.buttons if b.camera is not None}

    def sink(conn: sqlite3.Connection, msg: PoliceMessage) -> None:
        if signer is not None and msg.code.is_alarm and msg.device_id in with_camera:
            # The picture of the spot, taken by the camera worker just after this commit: the link is
            # known now, so the report never waits for the picture.
            msg = replace(msg, verify_url=signer.link(msg.event_id, msg.ts_ms) or msg.verify_url)
        transports = gb28181_routing.transports(config, msg, base)
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
        stalls: StallWatch = LOOP_STALLS,
    ) -> None:
        self.config = config
        self.db = db
        self.hub = hub
        self.clock = clock
        self.notifier = notifier or Notifier()
        if webhooks_configured(config):
            self.notifier.prepare()
        self.tick_s = tick_s
        self.after_commit: list[Callable[[], None]] = [hub.ring]
        self.events_committed = 0
        self._later: list[Notify] = []  # webhook calls decided in the open transaction
        # The one ordered queue: a single thread carries out every step, so steps never interleave.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-writer")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.stalls = stalls
        self._stall_cursor = stalls.count
        self.engine: Engine = engine_from_config(config)
        self.memory = MemoryQueue()  # reports for the relay while the store is full (outlives relay reloads)
        self._committing: list[tuple[str, str, bool]] = []
        self.signer = MediaSigner.for_store(db, config.api.public_url, config.api.verify_link_hours * 3600)
        self.police: PoliceSink | None = police_sink(config, self.memory, self._committing, self.signer)
        # Called on the loop with each committed press (the daemon asks the camera worker for a picture).
        self.on_press: Callable[[Event], None] | None = None
        self._backlog: deque[Event] = deque()
        self.store_fault = StoreFault()
        loaded = load_state(db, config.alarms)
        self.state: EngineState = loaded or rebuild(db, config.alarms)
        self._saved: EngineState | None = loaded  # what the store holds; None = write it all next time
        self.tick(sync=True)  # take in what changed while we were down (expired maintenance, due escalations)

    def update_config(self, config: Config) -> None:
        """SIGHUP after the new config validated: new rules, same state (open alarms and timers kept).

        Queued like any step, so a step in progress finishes on the config it started with."""
        self.signer = MediaSigner.for_store(self.db, config.api.public_url, config.api.verify_link_hours * 3600)
        engine, police = engine_from_config(config), police_sink(config, self.memory, self._committing, self.signer)
        if webhooks_configured(config):
            self.notifier.prepare()

        def swap() -> None:
            self.config, self.engine, self.police = config, engine, police

        if self._loop is None:  # no loop has used us yet: nothing can be mid-step
            swap()
        else:
            self._writer.submit(swap)

    def close(self) -> None:
        """Finish the queued steps and stop the writer thread (before the store is closed)."""
        self._writer.shutdown(wait=True)

    async def _queued(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the writer thread after everything submitted before it.

        Shielded: a caller cancelled while waiting (a driver stopped by a reload) does not take its
        step out of the queue half-way; the step still runs and commits."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop, self._loop_thread = loop, threading.get_ident()
        return await asyncio.shield(loop.run_in_executor(self._writer, functools.partial(fn, *args)))

    # --- events ---------------------------------------------------------------------------------
    async def emit(self, event: Event) -> None:
        await self._queued(self._emit_now, [event])

    async def emit_many(self, events: list[Event]) -> None:
        """Several events, in order, committed in one transaction (one fsync): a driver's burst."""
        await self._queued(self._emit_now, events)

    def _emit_now(self, events: list[Event]) -> None:
        events = [e if e.site else e.with_site(self.config.site.id) for e in events]
        if self._backlog and not self.flush():
            for event in events:
                self._hold(event, self.store_fault.reason or "store fault")
            return
        try:
            self._commit_all(events)
        except sqlite3.Error as exc:
            if not is_store_full(exc):
                raise
            for event in events:  # the transaction rolled back: none of them is in the store
                self._hold(event, str(exc))

    def _commit(self, event: Event) -> None:
        self._commit_all([event])

    def _commit_all(self, events: list[Event]) -> None:
        presses: list[Event] = []
        with self._write() as w:
            state = self.state
            for event in events:
                state, marked = self._step(w, state, event)
                if marked.kind is EventKind.ALARM_PRESS:
                    presses.append(marked)
            w.state = state
        self.events_committed += len(events)
        for event in presses:
            if self.on_press is not None:
                self._on_loop(self.on_press, event)

    def _step(self, w: _Write, state: EngineState, event: Event) -> tuple[EngineState, Event]:
        """One event inside the open transaction: stored, decided, its actions applied (and as marked)."""
        now = self.clock()
        event = self.engine.mark_test(state, event, now)
        insert_event(w.conn, event)
        changes.record_change(w.conn, changes.EVENT, event.id, event.as_dict())
        touch(w.conn, event.device_id, event.ts_ms)
        _record_check(w.conn, event)
        fault = gb28181_routing.camera_fault(self.config, event)
        if fault is not None:  # cameras send no DC-09 report; the video platform gets a device-fault alarm
            enqueue(w.conn, fault, [gb28181_routing.TRANSPORT])
        try:
            state, actions = self.engine.on_event(state, event, now)
        except Exception:
            ENGINE_ERRORS.labels(where="event").inc()
            log.exception("rules: engine failed on %s %s; applying the fail-safe", event.kind, event.device_id)
            actions = self._fail_safe(event, now)
        return self._apply(w.conn, state, actions), event

    async def camera_result(self, item: Event | Snapshot) -> None:
        """The one way in for what the camera worker sends: its events, and thumbnails to keep."""
        if isinstance(item, Event):
            await self.emit(item)
        else:
            await self._queued(put_snapshot, self.db, item.device_id, item.jpeg, item.ts_ms)

    # --- store full -------------------------------------------------------------------------------
    def _hold(self, event: Event, reason: str) -> None:
        """The store refused the event: keep it, and send its police reports from memory right away.

        The engine's new state is not adopted: the event is decided again when it is committed (its
        outbox rows then carry what memory already delivered), so the store never misses a step."""
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
        base = transports_for(self.config.police)
        for action in actions:
            if not isinstance(action, Relay):
                continue
            transports = gb28181_routing.transports(self.config, action.message, base)
            if transports:
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
                AlarmCategory.ALARM,
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
    def tick(self, now: int | None = None, *, sync: bool = False) -> None:
        """One engine tick on the calling thread (the writer's, or a test's with no loop running).

        `sync` also takes in what the store says of acks, closes and maintenance: only at start-up,
        since while we run every such change is a command in our own queue."""
        with self._write() as w:
            now = self.clock() if now is None else now
            before = self._synced(w.conn, now) if sync else self.state
            state, actions = self.engine.tick(before, now)
            if actions or self._later or self._saved is None or not _same(state, self.state):
                w.state = self._apply(w.conn, state, actions)

    def _tick_round(self) -> None:
        if self.stalls.stalled():
            return  # the loop has not run for a while: commit the stall first (next round), then tick
        if not self._backlog or self.flush():
            self.tick()

    async def resume_after_stall(self) -> None:
        """Commit each stall the loop has seen since the last look, as a gateway event the operator sees."""
        self._stall_cursor, stalls = self.stalls.since(self._stall_cursor)
        for stall in stalls:
            payload = {
                "reason": "process_stalled",
                "seconds": round(stall.seconds, 1),
                "from": iso_ms(stall.start_ms),
                "to": iso_ms(stall.end_ms),
                "from_ms": stall.start_ms,
                "to_ms": stall.end_ms,
            }
            await self.emit(Event(EventKind.GATEWAY_STALL, GATEWAY_DEVICE_ID, payload, ts_ms=stall.end_ms))

    async def run(self) -> None:
        """Tick until cancelled; also runs the escalation webhook notifier and the loop's stall watch.
        Supervise it like a driver."""
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.notifier.run(), name="escalation-notifier")
            tg.create_task(self.stalls.run(), name="stall-watch")
            while True:
                try:
                    await self.resume_after_stall()
                    await self._queued(self._tick_round)
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

    # --- operators' commands ---------------------------------------------------------------------
    async def acknowledge(self, alarm_id: str, actor: str, note: str) -> dict[str, Any] | None:
        """Open -> acknowledged (stops its escalation at once). None: no such alarm; AlarmStateError: not open."""
        return await self._queued(self._alarm_command, acknowledge_in, alarm_id, actor, note)

    async def close_alarm(self, alarm_id: str, actor: str, reason: str) -> dict[str, Any] | None:
        """The manual reset: -> closed. None: no such alarm; AlarmStateError: already closed."""
        return await self._queued(self._alarm_command, close_in, alarm_id, actor, reason)

    def _alarm_command(
        self,
        change: Callable[[sqlite3.Connection, str, str, str, int], dict[str, Any] | None],
        alarm_id: str,
        actor: str,
        text: str,
    ) -> dict[str, Any] | None:
        with self._write() as w:
            row = change(w.conn, alarm_id, actor, text, self.clock())
            if row is None:
                return None
            state = self.engine.sync_alarms(self.state, open_alarm_states(w.conn))
            w.state = self._apply(w.conn, state, [])
        return row

    async def set_maintenance(self, device_id: str, minutes: float, actor: str) -> dict[str, Any]:
        """Test/maintenance mode for `minutes` from now (replacing any current window)."""
        return await self._queued(self.set_maintenance_now, device_id, minutes, actor)

    async def clear_maintenance(self, device_id: str, actor: str) -> dict[str, Any]:
        """End maintenance now; held faults are raised and owed restores reported."""
        return await self._queued(self.clear_maintenance_now, device_id, actor)

    def set_maintenance_now(self, device_id: str, minutes: float, actor: str) -> dict[str, Any]:
        """On the calling thread: the writer's, or a test's while no loop uses this runtime."""
        self._known(device_id)
        limit = self.config.device_states.max_maintenance_minutes
        minutes = check_minutes(minutes, limit)
        return self._maintenance(device_id, minutes, actor)

    def clear_maintenance_now(self, device_id: str, actor: str) -> dict[str, Any]:
        self._known(device_id)
        return self._maintenance(device_id, None, actor)

    def _known(self, device_id: str) -> None:
        if device_id not in self.engine.ctx.devices:
            raise MaintenanceError(f"unknown device {device_id!r}")

    def _maintenance(self, device_id: str, minutes: float | None, actor: str) -> dict[str, Any]:
        with self._write() as w:
            now = self.clock()
            state = self.state
            if minutes is None:
                until = None
                state, actions = self.engine.end_maintenance(state, device_id, now)
            else:
                until = now + int(minutes * 60_000)
                state, actions = self.engine.start_maintenance(state, device_id, until, now)
            detail = record(w.conn, actor, device_id, until)
            changes.record_change(w.conn, changes.DEVICE, device_id, {**detail, "by": actor})
            w.state = self._apply(w.conn, state, actions)
        return detail

    # --- patrol -----------------------------------------------------------------------------------
    async def record_checkins(self, checkins: list[Checkin]) -> int:
        """Patrol check-ins, committed in the same ordered queue as every other write; returns how many
        were new (a re-imported download or a redelivered message is ignored)."""
        return await self._queued(self.record_checkins_now, checkins)

    def record_checkins_now(self, checkins: list[Checkin]) -> int:
        with self.db.tx() as conn:
            added = insert_checkins(conn, checkins, self.clock())
            if added:
                last = max(checkins, key=lambda c: c.ts_ms)
                changes.record_change(
                    conn, changes.PATROL, last.checkpoint_id, {"added": added, "checkpoint": last.checkpoint_id}
                )
        if added:
            self._after([])
        return added

    # --- rows with no rules behind them (e-map, sessions) -----------------------------------------
    async def command(
        self,
        change: Callable[[sqlite3.Connection, int], T],
        *,
        actor: str,
        action: str,
        ref: str,
        feed: str | None = None,
        audited: bool = True,
    ) -> T:
        """A write the rules take no part in (a floor plan, a login), queued with every other write so it
        never races a commit; audited with its author, and announced on the change feed as `feed`."""
        return await self._queued(self._command_now, change, actor, action, ref, feed, audited)

    def _command_now(
        self,
        change: Callable[[sqlite3.Connection, int], T],
        actor: str,
        action: str,
        ref: str,
        feed: str | None,
        audited: bool,
    ) -> T:
        with self.db.tx() as conn:
            result = change(conn, self.clock())
            if audited:
                audit(conn, actor, action, ref, {})
            if feed is not None:
                changes.record_change(conn, feed, ref, {"action": action, "by": actor})
        if feed is not None:
            self._after([])
        return result

    # --- plumbing ---------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[_Write]:
        """One engine step: the store transaction; adopt the new state only after COMMIT, then hand the
        after-commit callbacks to the loop."""
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

    def _synced(self, conn: sqlite3.Connection, now: int) -> EngineState:
        """At start-up: the engine state with what the store says of acks, closes and maintenance (a
        state saved by an older version, or rebuilt from the rows)."""
        state = self.engine.sync_alarms(self.state, open_alarm_states(conn))
        for dev_id, until in maintenance_rows(conn).items():
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

        The Hub and the notifier's queue belong to the event loop: from the writer thread the callbacks
        are handed to the loop.
        """
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread and not loop.is_closed():
            loop.call_soon_threadsafe(self._callbacks, later)
        else:
            self._callbacks(later)

    def _on_loop(self, fn: Callable[[Event], None], event: Event) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread and not loop.is_closed():
            loop.call_soon_threadsafe(fn, event)
        else:
            fn(event)

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
