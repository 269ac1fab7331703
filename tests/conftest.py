"""Suite-wide options: `--heavy` runs the long fault-injection variants (marker `heavy`); tests that time
the code under test are marked `serial`, so `scripts/dev.sh test` runs them alone after the rest has run
in parallel (pytest-xdist)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# Real daemons under fault injection, and every module asserting a latency, a timeout or a cost: run
# beside other tests on a 2-core box, their bounds would measure the neighbours, not the code.
SERIAL = (
    "faults/",
    "e2e/",
    "api/test_auth_live.py",
    "api/test_sse.py",
    "api/test_sessions.py",
    "api/test_dashboard_browser.py",
    "county/test_county_login.py",
    "daemon/",
    "drivers/test_modbus_rtu.py",
    "drivers/test_mqtt_buttons.py",
    "fuzz/test_soap_parser.py",
    "gb28181/test_gb28181_device.py",
    "gb28181/test_gb28181_media.py",  # live video: the relay's sends and the receivers run on real time
    "gb28181/test_gb28181_tcp_active.py",
    "gb28181/test_gb28181_onvif_stream.py",
    "gb28181/test_gb28181_capture.py",
    "onvif/test_health.py",
    "onvif/test_driver.py",
    "relay/",
    "video/test_grab_http.py",
    "video/test_grab_rtsp.py",
    "video/test_decode_limit.py",
    "video/test_clip_pull.py",
    "video/test_stream_deadline.py",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--heavy", action="store_true", default=False, help="also run the heavy fault-injection variants")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    serial = pytest.mark.serial
    for item in items:
        rel = item.path.resolve().relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""
        if rel.startswith(SERIAL):
            item.add_marker(serial)
    if config.getoption("--heavy"):
        return
    skip = pytest.mark.skip(reason="heavy variant: run with --heavy")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
