"""Real peers for the button drivers: a socat pty line with the pymodbus simulator, a mosquitto broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from edge.drivers.base import Driver
from edge.sim.modbus import ModbusSim
from tests.peers.mosquitto import Mosquitto
from tests.peers.serial import SerialPair


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[SerialPair]:
    with SerialPair(tmp_path / "sim", tmp_path / "edge") as p:
        yield p


@pytest.fixture
async def sim(pair: SerialPair) -> AsyncIterator[ModbusSim]:
    s = ModbusSim()
    await s.start(pair.a, [1, 2])
    yield s
    await s.stop()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


@contextlib.asynccontextmanager
async def running(driver: Driver) -> AsyncIterator[asyncio.Task[None]]:
    """Run a driver as a task for the block; it must still be running (not crashed) at the end."""
    task = asyncio.create_task(driver.run(), name=f"driver-{driver.name}")
    try:
        yield task
        if task.done():
            task.result()  # re-raise a crash so the test fails with it
            raise AssertionError("driver run() returned, it must run until cancelled")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
