"""Supervision: a failing driver is restarted with back-off and never stops the others."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from edge.config import Config, load_config
from edge.daemon import Daemon
from edge.drivers.base import Driver, DriverContext
from edge.events import Event, EventKind
from edge.store.events import query_events
from edge.supervisor import BACKOFF_CAP, Supervisor
from tests.helpers import free_port, minimal_config


class Failing(Driver):
    type = "test_failing"
    starts = 0

    @classmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        return [cls("failing", ctx)]

    async def run(self) -> None:
        Failing.starts += 1
        await asyncio.sleep(0.01)
        raise OSError("port vanished")


class Ticking(Driver):
    type = "test_ticking"

    @classmethod
    def from_config(cls, config: Config, ctx: DriverContext) -> list[Driver]:
        return [cls("ticking", ctx)]

    async def run(self) -> None:
        while True:
            await self.ctx.emit(Event(EventKind.DEVICE_ONLINE, "ticker", {"n": 1}))
            await asyncio.sleep(0.05)


class TwoDriverDaemon(Daemon):
    def build_drivers(self) -> list[Driver]:
        ctx = self.driver_context()
        return [*Failing.from_config(self.config, ctx), *Ticking.from_config(self.config, ctx)]


def test_backoff_is_full_jitter_and_capped() -> None:
    sup = Supervisor(base=2.0, cap=BACKOFF_CAP, rng=random.Random(1))
    for attempt in range(1, 12):
        delays = [sup.delay(attempt) for _ in range(200)]
        bound = 2.0 ** min(BACKOFF_CAP, attempt)
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound / 2  # full jitter spreads over the whole range


async def test_failing_driver_restarted_while_other_keeps_working(tmp_path: Path) -> None:
    config_path = minimal_config(tmp_path, free_port())
    daemon = TwoDriverDaemon(config_path, load_config(config_path))
    daemon.supervisor.base = 1.2  # short back-off keeps the test quick; the formula is the same
    faults: list[tuple[str, bool]] = []

    async def on_fault(unit: str, faulted: bool, error: str) -> None:
        faults.append((unit, faulted))

    daemon.supervisor.on_fault = on_fault
    Failing.starts = 0
    task = asyncio.create_task(daemon.run())
    # Wait (bounded) until the failing driver has been restarted a few times, then count what the
    # healthy one produced meanwhile: progress is judged relative to restarts, not wall-clock speed.
    deadline = asyncio.get_running_loop().time() + 30
    while Failing.starts < 4 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    seen = len(query_events(daemon.db, device="ticker", limit=1000))
    daemon.request_stop()
    await asyncio.wait_for(task, 10)
    status: dict[str, Any] = daemon.supervisor.status()
    assert Failing.starts >= 4, "the failing driver was restarted"
    assert status["failing"]["restarts"] >= 2
    assert "port vanished" in status["failing"]["last_error"]
    assert seen >= 10, "the healthy driver kept producing events while the other failed and restarted"
    assert status["ticking"]["restarts"] == 0
    if Failing.starts > 6:
        assert ("failing", True) in faults


async def test_crash_traceback_logged_at_error_once_per_fault_window(caplog: Any) -> None:
    """The cause of a crash is in the log at the default level, once per window, not on every restart."""
    sup = Supervisor(base=1.0, cap=0, rng=random.Random(1))  # 1 ** n: every pause is within 1 s
    sup.delay = lambda attempt: 0.0  # type: ignore[method-assign]
    runs = 0

    async def crash() -> None:
        nonlocal runs
        runs += 1
        if runs > 3:
            await asyncio.Event().wait()
        raise OSError(f"port vanished #{runs}")

    caplog.set_level("INFO", logger="edge.supervisor")
    task = asyncio.create_task(sup.run("bus0", crash))
    while runs <= 3:
        await asyncio.sleep(0.01)
    task.cancel()
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "failed" in r.getMessage()]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]
    assert errors[0].exc_info is not None and "port vanished #1" in str(errors[0].exc_info[1])
    repeats = [r for r in caplog.records if r.levelname == "WARNING" and "failed again" in r.getMessage()]
    assert len(repeats) == 2 and all(r.exc_info is None for r in repeats)
