"""A real `edge run` daemon with MQTT buttons on real mosquitto, uplinked to the platform simulator:
a press is an Alarm Notify on the button's channel; with the platform down, alarms wait in the
outbox and arrive in order after re-registration; the link shows in GET /status."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gb28181.support import DEVICE_ID, GB_SECTION, SimThread
from tests.helpers import daemon_process, edge_cmd, free_port
from tests.peers.mosquitto import Mosquitto
from tests.peers.mqtt_device import Device

CONFIG = (
    """\
site: {{id: sch-1, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:{port}", tokens_file: {dir}/tokens.yaml}}
mqtt: {{url: "{mqtt}"}}
cameras:
  - {{id: cam-gate, name: 南门枪机, location: 南门, onvif: "http://127.0.0.1:9/onvif/device_service",
      gb28181_id: "34020000001320000001"}}
buttons:
  - {{id: gate-south, name: 南门一键报警, location: 南门岗亭, zone: 1, transport: mqtt, camera: cam-gate,
      gb28181_id: "34020000001340000001", heartbeat_timeout: 3600}}
  - {{id: office, name: 行政楼一键报警, location: 行政楼, zone: 2, transport: mqtt, heartbeat_timeout: 3600}}
checks: {{camera_interval: 3600, startup_delay: 3600}}
"""
    + GB_SECTION
    + "  keepalive_interval: 0.5\n  keepalive_timeout_count: 2\n"
)


@pytest.fixture(params=["udp", "tcp"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield from _site(tmp_path, str(request.param), None)


def _site(tmp_path: Path, transport: str, password: str | None) -> Generator[dict[str, Any], None, None]:
    sim = SimThread(transport)
    (tmp_path / "gb.pass").write_text((password or sim.sim.password) + "\n", encoding="utf-8")
    with Mosquitto(tmp_path / "broker") as broker:
        port = free_port()
        cfg = tmp_path / "edge.yaml"
        cfg.write_text(
            CONFIG.format(dir=tmp_path, port=port, mqtt=broker.url, server=sim.sim.url, device=DEVICE_ID),
            encoding="utf-8",
        )
        token = subprocess.run(
            edge_cmd("token", "create", "--name", "看板", "--role", "viewer", "-c", str(cfg)),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        try:
            with daemon_process(cfg, port) as proc:
                yield {"sim": sim, "broker": broker, "port": port, "token": token, "proc": proc}
        finally:
            sim.close()


def _status(s: dict[str, Any]) -> dict[str, Any]:
    r = httpx.get(f"http://127.0.0.1:{s['port']}/api/v1/status", headers={"Authorization": f"Bearer {s['token']}"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_press_reaches_the_platform_and_outage_keeps_order(site: dict[str, Any]) -> None:
    sim: SimThread = site["sim"]
    sim.wait(lambda: DEVICE_ID in sim.sim.devices)
    button = Device(site["broker"].url, "edge", "gate-south")
    other = Device(site["broker"].url, "edge", "office")
    started = time.monotonic()
    button.event("press")
    other.event("press")  # no gb28181_id: DC-09 only, never on the video platform
    sim.wait(lambda: len(sim.sim.alarms) == 1)
    latency = time.monotonic() - started
    alarm = sim.sim.alarms[0]
    assert alarm.root == "Notify" and alarm.cmd_type == "Alarm"
    assert alarm.device_id == "34020000001340000001"
    assert (alarm.fields["AlarmPriority"], alarm.fields["AlarmMethod"]) == ("1", "2")
    desc = alarm.fields["AlarmDescription"]
    assert "南门一键报警" in desc and "南门岗亭" in desc and "34020000001320000001" in desc
    assert len(alarm.fields["AlarmTime"]) == 19 and "Z" not in alarm.fields["AlarmTime"]
    assert latency < 5

    def link() -> dict[str, Any]:
        gb: dict[str, Any] = _status(site)["providers"]["gb28181"]
        return gb

    sim.wait(lambda: link()["last_alarm_ms"] is not None and link()["last_keepalive_ms"] is not None)
    sim.wait(lambda: link()["link"] == "up")  # the link watcher looks once a second
    assert link()["registered"] is True and link()["flagged"] is False

    # The platform goes away: presses wait in the outbox, the link is flagged down, then all arrive in order.
    sim.stop()
    for _ in range(3):
        button.event("release")
        button.event("press")
        time.sleep(0.2)
    sim.wait(lambda: link()["registered"] is False and link()["flagged"] is True, timeout=30)
    time.sleep(1.0)
    assert len(sim.sim.alarms) == 1
    sim.start()
    sim.wait(lambda: len(sim.sim.alarms) >= 4, timeout=60)
    times = [a.fields["AlarmTime"] for a in sim.sim.alarms[1:4]]
    sns = [int(a.fields["SN"]) for a in sim.sim.alarms]
    assert times == sorted(times) and sns == sorted(sns)
    assert len(sim.sim.alarms) == 4
    sim.wait(lambda: link()["registered"] is True and link()["flagged"] is False, timeout=30)


def test_wrong_password_is_clear_counted_and_flagged(tmp_path: Path) -> None:
    site = _site(tmp_path, "udp", "not-the-password")
    s = next(site)
    try:
        sim: SimThread = s["sim"]
        sim.wait(lambda: sim.sim.auth_failures >= 1)

        def link() -> dict[str, Any]:
            gb: dict[str, Any] = _status(s)["providers"]["gb28181"]
            return gb

        sim.wait(lambda: link()["flagged"] is True, timeout=20)  # down past 0.5 s x 2
        assert link()["registered"] is False and "auth" in link()["last_error"]
        time.sleep(2.0)
        assert sim.sim.auth_failures == 1  # the next attempt waits at least 30 s: no tight loop
        metrics = httpx.get(
            f"http://127.0.0.1:{s['port']}/api/v1/metrics", headers={"Authorization": f"Bearer {s['token']}"}
        ).text
        assert 'edge_gb28181_register_failures_total{reason="auth"} 1.0' in metrics
        devices = httpx.get(
            f"http://127.0.0.1:{s['port']}/api/v1/devices", headers={"Authorization": f"Bearer {s['token']}"}
        ).json()
        assert "police-gb28181" in {d["id"] for d in devices}
        alarms = httpx.get(
            f"http://127.0.0.1:{s['port']}/api/v1/alarms", headers={"Authorization": f"Bearer {s['token']}"}
        ).json()
        items = alarms["items"] if isinstance(alarms, dict) else alarms
        flags = [a for a in items if a["device_id"] == "police-gb28181"]
        assert flags and flags[0]["severity"] == "critical"  # the default-police-link rule, as for DC-09
    finally:
        site.close()
