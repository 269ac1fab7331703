"""The county tests' real peers: a PostgreSQL from Debian and a mosquitto as the county broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.mosquitto import Mosquitto
from tests.peers.postgres import Postgres


@pytest.fixture
def pg() -> Iterator[Postgres]:
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "county-broker").start()
    yield b
    b.stop()
