"""`edge commission test-alarm` end to end: the daemon (in-process) on a real mosquitto with a simulated MQTT
button, relaying to the demo's DC-09 receiver; then `edge commission report` shows the button as tested."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from edge.api.tokens import Role, create_token
from edge.cli import main
from edge.commands.report import build
from edge.config import load_config
from edge.daemon import Daemon
from edge.events import now_ms
from edge.relay.message import PoliceCode
from edge.sim.mqtt_buttons import SimMqttButton
from edge.sim.receiver import DemoReceiver
from tests.helpers import buttons_online
from tests.peers.mosquitto import Mosquitto
from tests.peers.ports import free_port


@dataclass
class Site:
    cfg: Path
    url: str
    receiver: DemoReceiver
    button: SimMqttButton
    technician: str
    viewer: str


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    broker = Mosquitto(tmp_path / "mqtt").start()
    receiver = await DemoReceiver().start()
    port = free_port()
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"site: {{id: s1, name: 测试学校}}\nstorage: {{path: {tmp_path}/edge.db}}\n"
        f"api: {{listen: '127.0.0.1:{port}', tokens_file: {tmp_path}/tokens.yaml}}\n"
        f"mqtt: {{url: '{broker.url}'}}\n"
        "buttons:\n  - {id: dorm-a, name: 宿舍A一键报警, location: 宿舍A, zone: 12, transport: mqtt}\n"
        f"police: {{account: '1234', supervision_interval: 0, receivers: ['{receiver.url}']}}\n"
    )
    technician = create_token(tmp_path / "tokens.yaml", "tech", Role.TECHNICIAN)
    viewer = create_token(tmp_path / "tokens.yaml", "duty", Role.VIEWER)
    daemon = Daemon(cfg)
    task = asyncio.create_task(daemon.run())
    button = SimMqttButton(broker.url, "edge", "dorm-a")
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client, asyncio.timeout(15):
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url + "/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        await asyncio.to_thread(button.power_on)
        async with asyncio.timeout(15):  # tests.helpers.buttons_online: subscribed before a press
            while not await asyncio.to_thread(buttons_online, url, viewer, ["dorm-a"]):
                await asyncio.sleep(0.05)
        yield Site(cfg, url, receiver, button, technician, viewer)
    finally:
        button.close()
        daemon.request_stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        await receiver.stop()
        broker.stop()


async def _press_when_in_test_mode(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.viewer}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers) as client, asyncio.timeout(10):
        while (await client.get("/api/v1/devices/dorm-a")).json()["state"] != "maintenance":
            await asyncio.sleep(0.05)
    await asyncio.to_thread(site.button.press)
    await asyncio.sleep(0.2)
    await asyncio.to_thread(site.button.release)


async def test_press_reaches_police_as_a_test_report(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["commission", "test-alarm", "dorm-a", "-c", str(site.cfg), "--token", site.technician, "--wait", "10"]
    rc, _ = await asyncio.gather(asyncio.to_thread(main, argv), _press_when_in_test_mode(site))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "已进入测试模式" in out and "the daemon got the press" in out and "(test=True)" in out
    assert "police receiver ACKed the test report" in out and "latency" in out and "通过 PASS" in out
    assert "test mode cleared" in out
    codes = [(r.name, r.zone) for r in site.receiver.reports if r.name]
    assert (PoliceCode.TEST_MANUAL.name, 12) in codes
    assert PoliceCode.PANIC.name not in {c for c, _ in codes}  # a test press never dispatches the police
    headers = {"Authorization": f"Bearer {site.viewer}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers) as client:
        dev = (await client.get("/api/v1/devices/dorm-a")).json()
        alarms = (await client.get("/api/v1/alarms", params={"state": "open"})).json()["items"]
    assert dev["state"] != "maintenance"
    assert not [a for a in alarms if a["device_id"] == "dorm-a" and a["kind"] == "alarm.press"]

    rc = await asyncio.to_thread(main, ["commission", "report", "-c", str(site.cfg)])
    report = capsys.readouterr().out
    assert rc == 0
    line = next(x for x in report.splitlines() if "dorm-a" in x)
    assert line.startswith("[通过 PASS] button dorm-a 宿舍A一键报警")
    assert "police ACK: dc09://127.0.0.1" in report and "合计 total: 1/1" in report
    html = site.cfg.parent / "report.html"
    rc = await asyncio.to_thread(
        main, ["commission", "report", "-c", str(site.cfg), "--format", "html", "-o", str(html)]
    )
    text = html.read_text()
    assert rc == 0 and text.startswith("<!doctype html>") and "宿舍A一键报警" in text and "class='pass'" in text

    # The day's inspection report, from the running daemon's store: the test passed, with its time to the police.
    config = load_config(site.cfg)
    now = now_ms()
    today = datetime.fromtimestamp(now / 1000, ZoneInfo(config.site.timezone)).date()
    daily = await asyncio.to_thread(build, config, today, now)
    (test,) = [t for t in daily.tests if t.source == "event" and t.kind == "alarm.press"]
    assert test.result == "pass" and "police ACKed the test report in" in test.detail, test
    assert "None" not in test.detail and "=" not in test.detail


async def _hold_until_acked_then_release(site: Site) -> None:
    """The technician holds the button past the police ACK of the test report, then lets go."""
    headers = {"Authorization": f"Bearer {site.viewer}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers) as client, asyncio.timeout(15):
        while (await client.get("/api/v1/devices/dorm-a")).json()["state"] != "maintenance":
            await asyncio.sleep(0.05)
        await asyncio.to_thread(site.button.press)
        while not any(r.name == PoliceCode.TEST_MANUAL.name for r in site.receiver.reports):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # well past the ACK: the old command had ended test mode by now
        await asyncio.to_thread(site.button.release)


async def test_release_after_the_ack_goes_out_as_a_test(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12 item 7: test mode lasts until the button is at rest; no real 3120 for a test press."""
    argv = ["commission", "test-alarm", "dorm-a", "-c", str(site.cfg), "--token", site.technician, "--wait", "10"]
    rc, _ = await asyncio.gather(asyncio.to_thread(main, argv), _hold_until_acked_then_release(site))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert (
        out.index("police receiver ACKed the test report") < out.index("back at rest") < out.index("test mode cleared")
    )
    await asyncio.sleep(1.0)  # anything the release caused has had time to reach the receiver
    names = [r.name for r in site.receiver.reports if r.name]
    assert PoliceCode.PANIC_RESTORE.name not in names, names
    assert PoliceCode.PANIC.name not in names
    headers = {"Authorization": f"Bearer {site.viewer}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers) as client:
        page = (await client.get("/api/v1/events", params={"device": "dorm-a", "kind": "alarm.release"})).json()
    assert [e["test"] for e in page["items"]] == [True]


async def test_release_after_test_mode_was_cleared_is_still_a_test(site: Site) -> None:
    """Test mode ended (window ran out, DELETE) while the button was held: its release is still a test."""
    tech = {"Authorization": f"Bearer {site.technician}"}
    async with httpx.AsyncClient(base_url=site.url, headers=tech) as client, asyncio.timeout(15):
        assert (await client.post("/api/v1/devices/dorm-a/maintenance", json={"minutes": 5})).status_code < 300
        await asyncio.to_thread(site.button.press)
        while not any(r.name == PoliceCode.TEST_MANUAL.name for r in site.receiver.reports):
            await asyncio.sleep(0.05)
        assert (await client.delete("/api/v1/devices/dorm-a/maintenance")).status_code < 300
        await asyncio.to_thread(site.button.release)
        while not (await client.get("/api/v1/events", params={"device": "dorm-a", "kind": "alarm.release"})).json()[
            "items"
        ]:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        release = (await client.get("/api/v1/events", params={"device": "dorm-a", "kind": "alarm.release"})).json()
        assert release["items"][0]["test"] is True
        names = [r.name for r in site.receiver.reports if r.name]
        assert names == [PoliceCode.TEST_MANUAL.name], names
        await asyncio.to_thread(site.button.press)  # the next press is a real alarm again
        while PoliceCode.PANIC.name not in [r.name for r in site.receiver.reports]:
            await asyncio.sleep(0.05)


async def test_nobody_presses(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["commission", "test-alarm", "dorm-a", "-c", str(site.cfg), "--token", site.technician, "--wait", "0.5"]
    rc = await asyncio.to_thread(main, argv)
    captured = capsys.readouterr()
    assert rc == 1 and "no press arrived" in captured.err
    assert "test mode cleared" in captured.out  # restored even when the test fails
    headers = {"Authorization": f"Bearer {site.viewer}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers) as client:
        assert (await client.get("/api/v1/devices/dorm-a")).json()["state"] != "maintenance"
    rc = await asyncio.to_thread(main, ["commission", "report", "-c", str(site.cfg)])
    assert "[未测试 NOT TESTED] button dorm-a" in capsys.readouterr().out


async def test_wrong_role_and_unknown_button(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDGE_TOKEN", raising=False)
    argv = ["commission", "test-alarm", "dorm-a", "-c", str(site.cfg), "--token", site.viewer, "--wait", "1"]
    assert await asyncio.to_thread(main, argv) == 1
    assert "technician role needed" in capsys.readouterr().err
    argv = ["commission", "test-alarm", "nope", "-c", str(site.cfg), "--token", site.technician]
    assert await asyncio.to_thread(main, argv) == 1
    assert "no device 'nope'" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["commission", "test-alarm", "dorm-a", "-c", str(site.cfg)]) == 2


async def test_police_never_acks_the_test(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """A receiver that NAKs everything: the tool, the acceptance report and the daily report all say FAIL."""
    site.receiver.mode = "nak"
    argv = ["commission", "test-alarm", "dorm-a", "-c", str(site.cfg), "--token", site.technician, "--wait", "10"]
    argv += ["--ack-wait", "3"]
    rc, _ = await asyncio.gather(asyncio.to_thread(main, argv), _press_when_in_test_mode(site))
    captured = capsys.readouterr()
    assert rc == 1 and "no ACK from the police" in captured.err and "处理 fix" in captured.err
    rc = await asyncio.to_thread(main, ["commission", "report", "-c", str(site.cfg)])
    report = capsys.readouterr().out
    assert rc == 1 and "[不通过 FAIL] button dorm-a" in report
    config = load_config(site.cfg)
    now = now_ms()
    today = datetime.fromtimestamp(now / 1000, ZoneInfo(config.site.timezone)).date()
    daily = await asyncio.to_thread(build, config, today, now)
    (test,) = [t for t in daily.tests if t.source == "event" and t.kind == "alarm.press"]
    assert test.result == "fail" and "not delivered to the police" in test.detail, test
