"""The asyncio supervisor: store, runtime, drivers, API; signals, reload and systemd notify."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn

from edge.api.app import create_app
from edge.api.server import EmbeddedServer
from edge.api.state import AppState
from edge.config import Config, ConfigError, load_config
from edge.drivers.base import Driver, DriverContext
from edge.drivers.registry import build_drivers
from edge.events import Event, EventKind, now_ms
from edge.hub import Hub
from edge.inventory import config_devices
from edge.runtime import Runtime
from edge.store import Database
from edge.store.alarms import open_alarms
from edge.store.devices import devices_with_state, sync_devices
from edge.store.events import purge_events
from edge.store.misc import put_snapshot
from edge.supervisor import Supervisor
from edge.systemd import Notifier
from edge.wiring import wire

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 3.0  # leaves margin inside the 5 s stop budget (systemd's TimeoutStopSec is longer)
HOUSEKEEPING_INTERVAL_S = 3600.0  # event purge and WAL checkpoint: hourly is plenty for a school's volume
STATUS_INTERVAL_S = 10.0  # how often STATUS= is refreshed when no watchdog is configured

Service = Callable[[], Awaitable[None]]


class Daemon:
    def __init__(self, config_path: Path, config: Config | None = None) -> None:
        self.config_path = config_path
        self.config = config or load_config(config_path)
        self.db = Database(self.config.storage.path)
        self.hub = Hub()
        self.runtime = Runtime(self.config, self.db, self.hub)
        self.supervisor = Supervisor(on_fault=self._on_fault)
        self.notifier = Notifier()
        self.app_state = AppState(self.config, self.db, self.hub)
        self.app_state.status_providers["daemon"] = lambda: {"units": self.supervisor.status()}
        # Long-running parts besides drivers (the relay, the rule clock), each supervised by name.
        self.services: dict[str, Service] = {}
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._api: EmbeddedServer | None = None
        sync_devices(self.db, config_devices(self.config))
        wire(self)

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
                self.app_state.closing.set()  # live streams end now instead of holding the API's shutdown
                if self._api is not None:
                    self._api.should_exit = True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SHUTDOWN_GRACE_S):
                        await asyncio.shield(api_task)
                api_task.cancel()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self.db.close()
            self.notifier.close()
        log.info("edge stopped")
        return 0

    # --- parts -----------------------------------------------------------------------------------
    def driver_context(self) -> DriverContext:
        async def save(device_id: str, jpeg: bytes, ts_ms: int) -> None:
            put_snapshot(self.db, device_id, jpeg, ts_ms)

        return DriverContext(site_id=self.config.site.id, emit=self.runtime.emit, save_snapshot=save)

    def build_drivers(self) -> list[Driver]:
        return build_drivers(self.config, self.driver_context())

    async def _run_drivers(self) -> None:
        while True:
            self._reload.clear()
            drivers = self.build_drivers()
            log.info("starting %d driver(s): %s", len(drivers), ", ".join(d.name for d in drivers) or "none")
            async with asyncio.TaskGroup() as tg:
                running = [tg.create_task(self.supervisor.run(d.name, d.run), name=d.name) for d in drivers]
                await self._reload.wait()
                for task in running:
                    task.cancel()

    async def _run_api(self) -> None:
        app = create_app(self.app_state)
        cfg = uvicorn.Config(
            app,
            host=self.config.api.host,
            port=self.config.api.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        if self.config.api.tls_cert_file and self.config.api.tls_key_file:
            cfg.ssl_certfile = str(self.config.api.tls_cert_file)
            cfg.ssl_keyfile = str(self.config.api.tls_key_file)
        self._api = EmbeddedServer(cfg)
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
        known = {d["id"] for d in devices_with_state(self.db)}
        if unit in known:
            kind = EventKind.DEVICE_OFFLINE if faulted else EventKind.DEVICE_ONLINE
            await self.runtime.emit(
                Event(kind, unit, {"reason": "driver_faulted" if faulted else "recovered", "error": error})
            )

    def status_line(self) -> str:
        states: dict[str, int] = {}
        for d in devices_with_state(self.db):
            states[d["state"] or "unknown"] = states.get(d["state"] or "unknown", 0) + 1
        parts = ", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "no devices"
        faulted = [n for n, h in self.supervisor.units.items() if h.faulted]
        line = f"devices: {parts}; open alarms: {len(open_alarms(self.db))}"
        return line + (f"; faulted: {', '.join(faulted)}" if faulted else "")
