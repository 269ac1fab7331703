"""One simulated school and one `edge run` daemon for the whole end-to-end module (peers are slow to start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.site import Site

# Serial buttons on bus1: id -> (unit, press input, zone); the tamper contact is the next input.
SERIAL = {"gate-south": (1, 0, 1), "gate-north": (1, 2, 2), "office": (2, 0, 3)}
MQTT = {"dorm-a": 8, "dorm-b": 9, "canteen": 10, "library": 11, "hall": 12}
CAMERAS = {"cam-gate": 10.0}  # 10 days recorded; a non-key area needs 30


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp: Path = tmp_path_factory.mktemp("e2e")
    s = Site(tmp, SERIAL, MQTT, CAMERAS)
    try:
        s.start_peers()
        s.write_config(s.config())
        s.start_daemon()
        yield s
    finally:
        s.stop()
