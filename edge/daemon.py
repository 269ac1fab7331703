"""The asyncio supervisor: store, runtime, drivers, API; signals, reload and systemd notify."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from edge.api.routes_session import flush_sessions
from edge.api.server import EmbeddedServer
from edge.api.serving import uvicorn_config
from edge.api.sessions import TOUCH_EVERY_MS
from edge.api.state import AppState
from edge.camworker.host import CameraWorker
from edge.camworker.protocol import Snapshot
from edge.config import Config, ConfigError, load_config
from edge.drivers.base import Driver, DriverContext
from edge.drivers.registry import build_drivers
from edge.events import Event, EventKind, now_ms
from edge.hub import Hub
from edge.inventory import config_devices
from edge.press_clip import PressClips
from edge.press_picture import PressPictures
from edge.relay.service import Relay
from edge.runtime import Runtime
from edge.store import Database
from edge.store.alarms import open_alarms
from edge.store.devices import devices_with_state, sync_devices
from edge.store.events import last_levels, purge_events
from edge.store.sessions import load_sessions
from edge.supervisor import Supervisor
from edge.systemd import Notifier

if TYPE_CHECKING:
    from edge.gb28181.service import Gb28181Service
    from edge.uplink.service import UplinkService

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 3.0  # leaves margin inside the 5 s stop budget (systemd's TimeoutStopSec is longer)
HOUSEKEEPING_INTERVAL_S = 3600.0  # event purge and WAL checkpoint: hourly is plenty for a school's volume
STATUS_INTERVAL_S = 10.0  # how often STATUS= is refreshed when no watchdog is configured

Service = Callable[[], Awaitable[None]]

# The supervised unit that is the camera worker process (DESIGN.md section 8).
CAMERA_UNIT = "camera-worker"
# Modules the alarm core must never load (the camera worker's); shown in the status for support and tests.
WORKER_ONLY_MODULES = ("cv2", "numpy", "edge.onvif.session", "edge.video.grab")


class Daemon:
    def __init__(self, config_path: Path, config: Config | None = None) -> None:
        self.config_path = config_path
        self.config = config or load_config(config_path)
        self.db = Database(self.config.storage.path)
        self.hub = Hub()
        self.runtime = Runtime(self.config, self.db, self.hub)
        self.supervisor = Supervisor(on_fault=self._on_fault)
        self.notifier = Notifier()
        self.app_state = AppState(self.config, self.db, self.hub, runtime=self.runtime)
        self.app_state.status_providers["daemon"] = lambda: {"units": self.supervisor.status()}
        # Long-running parts that live across reloads (the rule clock), each supervised by name.
        self.services: dict[str, Service] = {"rules": self.runtime.run, "sessions": self._sessions}
        self.app_state.sessions.load(load_sessions(self.db))  # logins survive a restart
        self.relay: Relay | None = None
        self.camera_worker: CameraWorker | None = None
        self.app_state.status_providers["cameras"] = self._camera_status
        self.gb28181: Gb28181Service | None = None
        self.app_state.status_providers["gb28181"] = self._gb28181_status
        self.runtime.after_commit.append(self._notify_relay)
        self.app_state.status_providers["police"] = self._police_status
        self.uplink: UplinkService | None = None
        self.runtime.after_commit.append(self._notify_uplink)
        self.app_state.status_providers["uplink"] = self._uplink_status
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._api: EmbeddedServer | None = None
        sync_devices(self.db, config_devices(self.config))

    # --- lifecycle -------------------------------------------------------------------------------
    def request_stop(self) -> None:
        log.info("stop requested")
        self._stop.set()

    def request_reload(self) -> None:
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            for issue in exc.issues:
                log.error("reload rejected, keeping the running config: %s", issue)
            self.notifier.notify("STATUS=reload rejected: config has errors; running config kept")
            return
        self.config = new
        self.runtime.update_config(new)
        self.app_state.config = new
        sync_devices(self.db, config_devices(new))
        log.info("config reloaded from %s", self.config_path)
        self._reload.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        tasks: list[asyncio.Task[None]] = []
        try:
            async with asyncio.TaskGroup() as tg:
                api_task = tg.create_task(self._run_api(), name="api")
                tasks.append(tg.create_task(self._run_drivers(), name="drivers"))
                tasks.append(tg.create_task(self._watchdog(), name="watchdog"))
                tasks.append(tg.create_task(self._housekeeping(), name="housekeeping"))
                for name, service in self.services.items():
                    tasks.append(tg.create_task(self.supervisor.run(name, service), name=name))
                self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
                log.info("edge running for site %s", self.config.site.id)
                await self._stop.wait()
                self.notifier.notify("STOPPING=1")
                for task in tasks:
                    task.cancel()
                self.app_state.closing.set()  # live streams end now instead of holding shutdown
                if self._api is not None:
                    self._api.should_exit = True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SHUTDOWN_GRACE_S):
                        await asyncio.shield(api_task)
                api_task.cancel()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await asyncio.to_thread(self.runtime.close)  # the queued commits finish before the store closes
            self.db.close()
            self.notifier.close()
        log.info("edge stopped")
        return 0

    # --- parts -----------------------------------------------------------------------------------
    def driver_context(self) -> DriverContext:
        async def save(device_id: str, jpeg: bytes, ts_ms: int) -> None:
            await self.runtime.camera_result(Snapshot(device_id, jpeg, ts_ms))

        return DriverContext(
            site_id=self.config.site.id,
            emit=self.runtime.emit,
            emit_many=self.runtime.emit_many,
            save_snapshot=save,
            last_levels=lambda device_id: last_levels(self.db, device_id),
            record_checkins=self.runtime.record_checkins,
        )

    def build_drivers(self) -> list[Driver]:
        return build_drivers(self.config, self.driver_context())

    def build_units(self) -> dict[str, Service]:
        """Everything the config shapes: the drivers and the police relay, rebuilt on each reload."""
        units: dict[str, Service] = {d.name: d.run for d in self.build_drivers()}
        self.camera_worker = CameraWorker(self.config, self._camera_result) if self.config.cameras else None
        pictures = PressPictures(self.config, self.runtime, lambda: self.camera_worker)
        self.clips = PressClips(self.config, self.runtime, lambda: self.camera_worker)

        def on_press(event: Event) -> None:
            pictures.on_press(event)
            self.clips.on_press(event)

        self.runtime.on_press = on_press
        if self.camera_worker is not None:
            units[CAMERA_UNIT] = self.camera_worker.run
        police = self.config.police
        self.relay = (
            Relay(
                police,
                self.db,
                self.runtime.emit,
                self.config.site.id,
                memory=self.runtime.memory,
                supervisor=self.supervisor,
            )
            if police
            else None
        )
        if self.relay is not None:
            units["relay"] = self.relay.run
        # The optional services' modules load here, at start-up or reload, and only on a site that uses
        # them (the GB/T 28181 stack, the county uplink, patrol rounds): not in the core's base footprint.
        if self.config.patrol is not None and self.config.patrol.plans:
            from edge.patrol.watch import PatrolWatch  # noqa: PLC0415

            units["patrol-watch"] = PatrolWatch(self.config, self.db, self.runtime.emit).run
        self.gb28181 = None
        if self.config.gb28181:
            from edge.gb28181.service import Gb28181Service  # noqa: PLC0415

            self.gb28181 = Gb28181Service(
                self.config,
                self.db,
                self.runtime.emit,
                self.runtime.memory,
                self.supervisor,
                camera_worker=lambda: self.camera_worker,
            )
            units["gb28181"] = self.gb28181.run
        self.uplink = self._build_uplink()
        if self.uplink is not None:
            units["uplink"] = self.uplink.run
        return units

    async def _sessions(self) -> None:
        """Login sessions' last use, written once a minute (not at every request)."""
        while True:
            await asyncio.sleep(TOUCH_EVERY_MS / 1000)
            await flush_sessions(self.app_state)

    def _build_uplink(self) -> UplinkService | None:
        config = self.config
        if config.uplink is None:
            return None
        from edge.uplink.service import UplinkService  # noqa: PLC0415 - see build_units
        from edge.uplink.sources import device_objects, report_for, status_object  # noqa: PLC0415

        return UplinkService(
            config,
            self.db,
            status=lambda: status_object(self.app_state),
            devices=lambda: device_objects(self.db),
            report=lambda day: report_for(config, day),
        )

    def _notify_uplink(self) -> None:
        if self.uplink is not None:
            self.uplink.notify()

    def _uplink_status(self) -> dict[str, object]:
        return self.uplink.status() if self.uplink is not None else {"configured": False}

    def _notify_relay(self) -> None:
        if self.relay is not None:
            self.relay.notify()
        if self.gb28181 is not None:
            self.gb28181.kick()

    def _gb28181_status(self) -> dict[str, object]:
        return self.gb28181.status() if self.gb28181 is not None else {"configured": False}

    async def _camera_result(self, item: Event | Snapshot) -> None:
        try:
            await self.runtime.camera_result(item)
        except sqlite3.Error as exc:  # a thumbnail the full disk refused: the worker is not at fault
            log.error("camera %s: %s not stored: %s", item.device_id, type(item).__name__, exc)

    def _camera_status(self) -> dict[str, object]:
        worker = self.camera_worker.status() if self.camera_worker is not None else None
        return {"worker": worker, "core_modules": [m for m in WORKER_ONLY_MODULES if m in sys.modules]}

    def _police_status(self) -> dict[str, object]:
        return self.relay.status() if self.relay is not None else {"configured": False}

    async def _run_drivers(self) -> None:
        while True:
            self._reload.clear()
            units = self.build_units()
            log.info("starting %d unit(s): %s", len(units), ", ".join(units) or "none")
            async with asyncio.TaskGroup() as tg:
                running = [tg.create_task(self.supervisor.run(name, run), name=name) for name, run in units.items()]
                await self._reload.wait()
                for task in running:
                    task.cancel()

    async def _run_api(self) -> None:
        self._api = EmbeddedServer(uvicorn_config(self.app_state))
        await self._api.run_embedded()

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval or STATUS_INTERVAL_S
        while True:
            await asyncio.sleep(interval)
            if self.db.healthy():
                # Only a loop that runs and a store that answers earn the ping; else systemd restarts us.
                self.notifier.notify("WATCHDOG=1", f"STATUS={self.status_line()}")

    async def _housekeeping(self) -> None:
        while True:
            cutoff = now_ms() - self.config.storage.event_retention_days * 86_400_000
            purged = purge_events(self.db, cutoff)
            if purged:
                log.info("purged %d events older than %d days", purged, self.config.storage.event_retention_days)
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)

    async def _on_fault(self, unit: str, faulted: bool, error: str) -> None:
        if unit == CAMERA_UNIT:
            await self._cameras_faulted(faulted, error)
            return
        known = {d["id"] for d in devices_with_state(self.db)}
        if unit in known:
            kind = EventKind.DEVICE_OFFLINE if faulted else EventKind.DEVICE_ONLINE
            await self.runtime.emit(
                Event(kind, unit, {"reason": "driver_faulted" if faulted else "recovered", "error": error})
            )

    async def _cameras_faulted(self, faulted: bool, error: str) -> None:
        """The worker keeps failing: every camera's last verdict is stale, and the operator must know why.

        Recovery needs no event here: the next worker's first health round reports each camera afresh."""
        if not faulted:
            log.info("camera worker recovered")
            return
        for cam in self.config.cameras:
            payload = {"state": "degraded", "reasons": ["checks_faulted"], "error": error}
            await self.runtime.emit(Event(EventKind.DEVICE_ONLINE, cam.id, payload))

    def status_line(self) -> str:
        states: dict[str, int] = {}
        for d in devices_with_state(self.db):
            states[d["state"] or "unknown"] = states.get(d["state"] or "unknown", 0) + 1
        parts = ", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "no devices"
        faulted = [n for n, h in self.supervisor.units.items() if h.faulted]
        line = f"devices: {parts}; open alarms: {len(open_alarms(self.db))}"
        return line + (f"; faulted: {', '.join(faulted)}" if faulted else "")
