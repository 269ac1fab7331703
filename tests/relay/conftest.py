"""Fixtures for the relay tests: a store and an event sink. Helpers live in relay_support."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.store import Database
from tests.relay.relay_support import Emitted


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(tmp_path / "edge.db")
    yield d
    d.close()


@pytest.fixture
def emitted() -> Emitted:
    return Emitted()
