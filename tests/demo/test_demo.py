"""`edge demo` as a user runs it: it starts, the dashboard answers with the printed token, a press on an
MQTT button reaches the demo's police receiver, and Ctrl-C (SIGINT) leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.publish as publish
import pytest

from edge.demo.plan import GB_DEVICE_ID, PATROL_CHECKPOINTS, gb_button_id, gb_camera_id
from edge.demo.runner import lan_address
from tests.peers.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 45.0  # simulators, broker, socat and the daemon's first /healthz; ~5 s on a quiet box


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time (field 22 of /proc/PID/stat) of every process below `pid`."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        starts[int(entry.name)] = fields[19]
    out: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out[child] = starts[child]
            todo.append(child)
    return out


def _alive(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] == start and fields[0] != "Z"


class Demo:
    def __init__(self, tmp: Path, *extra: str) -> None:
        self.port = free_port()
        self.state = tmp / "state"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "edge", "demo", "--port", str(self.port), "--state-dir", str(self.state), *extra]
        self.proc = subprocess.Popen(
            [*argv, "--scenario", "off"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.banner: list[str] = []

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.banner.append(line.rstrip())
            if "Ctrl-C" in line:
                return
        raise AssertionError("demo did not come up:\n" + "\n".join(self.banner))

    def token(self, role: str) -> str:
        for line in self.banner:
            if f"{role} token" in line:
                return line.split()[-1]
        raise AssertionError(f"no {role} token in the banner")

    @property
    def info(self) -> dict[str, object]:
        return dict(json.loads((self.state / "demo.json").read_text()))

    def received(self) -> list[dict[str, object]]:
        path = self.state / "received.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    d = Demo(tmp_path_factory.mktemp("demo"))
    try:
        d.wait_ready()
        yield d
    finally:
        d.kill()


def test_banner_dashboard_and_token(demo: Demo) -> None:
    url = f"http://127.0.0.1:{demo.port}"
    assert any(url in line for line in demo.banner)
    token = demo.token("operator")
    assert re.fullmatch(r"edge_[0-9a-f]+_[\w-]+", token)
    assert httpx.get(url + "/").status_code == 200
    assert httpx.get(url + "/api/v1/status").status_code == 401
    status = httpx.get(url + "/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert status.status_code == 200
    assert status.json()["site"]["id"] == "demo-school"
    devices = httpx.get(url + "/api/v1/devices", headers={"Authorization": f"Bearer {token}"}).json()
    types = [d["type"] for d in devices]
    assert types.count("camera") >= 8 and types.count("button") >= 10 and types.count("bus") == 2


def test_mqtt_press_reaches_the_police_receiver(demo: Demo) -> None:
    mqtt = str(demo.info["mqtt"])
    port = int(mqtt.rsplit(":", 1)[1])
    publish.single("edge/buttons/dorm-b/event", json.dumps({"type": "press"}), qos=1, hostname="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        panics = [r for r in demo.received() if r["name"] == "PANIC" and r["zone"] == 9]  # dorm-b is zone 9
        if panics:
            assert panics[0]["encrypted"] is True and panics[0]["account"] == "1234"
            page = httpx.get(str(demo.info["received_page"]))
            assert page.status_code == 200 and "紧急报警 / panic alarm" in page.text
            shown = httpx.get(str(demo.info["received_page"]) + "reports.json").json()
            assert any(r["name"] == "PANIC" and r["zone"] == 9 for r in shown)
            return
        time.sleep(0.1)
    raise AssertionError(f"no panic for zone 9 at the receiver: {demo.received()}")


def test_press_shows_on_the_police_video_platform_with_live_video(demo: Demo) -> None:
    """The gateway is registered with the demo's GB/T 28181 platform; a press on the canteen button is
    an alarm on its channel there, and the platform opens the linked camera and decodes its frames."""
    page = str(demo.info["police_video_page"])
    status: dict[str, Any] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not status.get("catalog"):  # registered, catalog read
        status = httpx.get(page + "status.json").json()
        time.sleep(0.2)
    assert [d["device_id"] for d in status["devices"]] == [GB_DEVICE_ID]
    assert status["video_note"] == ""  # this machine has GStreamer: live video is expected
    mqtt = str(demo.info["mqtt"])
    port = int(mqtt.rsplit(":", 1)[1])
    publish.single("edge/buttons/canteen/event", json.dumps({"type": "press"}), qos=1, hostname="127.0.0.1", port=port)
    button, camera = gb_button_id(10), gb_camera_id("cam-canteen")  # canteen is zone 10
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        status = httpx.get(page + "status.json").json()
        done = [p for p in status["pulls"] if p["alarm_channel"] == button and p["status"] == "done"]
        if done:
            break
        time.sleep(0.3)
    panics = [a for a in status["alarms"] if a["channel"] == button and a["AlarmPriority"] == "1"]
    assert panics and camera in panics[0]["AlarmDescription"], status["alarms"]
    assert done and done[0]["channel"] == camera and done[0]["frames"] >= 5, status["pulls"]
    html = httpx.get(page).text
    assert "食堂一键报警" in html and "一级警情" in html and "/last.jpg" in html
    assert httpx.get(page + "last.jpg").content[:2] == b"\xff\xd8"
    # The console's recordings list: the gate camera records itself (120 days kept): the whole last day.
    gate = gb_camera_id("cam-gate-south")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not status["recordings"].get(gate):
        time.sleep(0.5)
        status = httpx.get(page + "status.json").json()
    spans = status["recordings"].get(gate)
    assert spans and spans[0]["Type"] == "time" and spans[0]["DeviceID"] == gate, status["recordings"]


def test_guard_patrols_the_demo_school(demo: Demo) -> None:
    """The demo's reader walks every checkpoint; the guard's token works on the phone page's API."""
    url = f"http://127.0.0.1:{demo.port}"
    sheet = Path(str(demo.info["patrol_qr_sheet"])).read_text(encoding="utf-8")
    assert sheet.count("<svg") == len(PATROL_CHECKPOINTS)
    scan = httpx.get(str(demo.info["patrol_scan"]))
    assert scan.status_code == 200 and "巡查打卡" in scan.text
    port = int(str(demo.info["mqtt"]).rsplit(":", 1)[1])
    for cp in PATROL_CHECKPOINTS[:-1]:
        body = json.dumps({"tag": cp["tag"], "ts": time.time(), "guard": "王师傅"})
        publish.single("edge/patrol/demo-reader/checkin", body, qos=1, hostname="127.0.0.1", port=port)
    guard = {"Authorization": f"Bearer {demo.token('guard')}"}
    r = httpx.post(url + "/api/v1/patrol/checkins", json={"tag": PATROL_CHECKPOINTS[-1]["tag"]}, headers=guard)
    assert r.status_code == 201, r.text
    viewer = {"Authorization": f"Bearer {demo.token('operator')}"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        day = httpx.get(url + "/api/v1/patrol", headers=viewer).json()
        rounds = day["plans"][0]["rounds"]
        if rounds and not rounds[-1]["missing"]:
            assert day["plans"][0]["rounds_required"] == 5
            return
        time.sleep(0.2)
    raise AssertionError(f"the round was not recorded: {day}")


def test_every_device_of_the_demo_is_on_its_map(demo: Demo) -> None:
    headers = {"Authorization": f"Bearer {demo.token('operator')}"}
    url = f"http://127.0.0.1:{demo.port}/api/v1"
    plans = httpx.get(url + "/floorplans", headers=headers).json()
    assert [p["name"] for p in plans] == ["校园总平面", "教学楼一层"]
    placed = {d for p in plans for d in p["positions"]}
    devices = httpx.get(url + "/devices", headers=headers).json()
    assert {d["id"] for d in devices if d["type"] in ("button", "camera")} == placed
    image = httpx.get(url + "/floorplans/campus/image", headers=headers)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_people_log_in_with_the_printed_passwords(demo: Demo) -> None:
    line = next(x for x in demo.banner if "logins (user / password)" in x)
    found = re.findall(r"(\w+) / (\S+)", line.split(":", 1)[1])
    assert [name for name, _ in found] == ["guard", "operator", "tech"]
    url = f"http://127.0.0.1:{demo.port}/api/v1/session"
    for name, password in found:
        r = httpx.post(url, json={"username": name, "password": password})
        assert r.status_code == 200, r.text
    assert httpx.post(url, json={"username": "guard", "password": "not-the-password"}).status_code == 401


def test_demo_on_the_lan_for_guards_phones(tmp_path: Path) -> None:
    """`--listen 0.0.0.0`: the QR codes lead to the gateway's LAN address, where the scan page answers."""
    lan = lan_address()
    d = Demo(tmp_path, "--listen", "0.0.0.0")
    try:
        d.wait_ready()
        scan = str(d.info["patrol_scan"])
        assert scan.startswith(f"http://{lan}:{d.port}/patrol/scan?tag=")
        assert httpx.get(scan).status_code == 200
        sheet = Path(str(d.info["patrol_qr_sheet"])).read_text(encoding="utf-8")
        assert sheet.count("<svg") == len(PATROL_CHECKPOINTS)
    finally:
        d.kill()


def test_sigkill_takes_the_children_along(tmp_path: Path) -> None:
    """Each child has the death signal: the daemon, the broker (also when mosquitto, started as root,
    would switch to its own user, which clears the signal) and socat go when the demo is killed."""
    d = Demo(tmp_path)
    try:
        d.wait_ready()
        below = _descendants(d.proc.pid)
        assert len(below) >= 2
    finally:
        d.kill()
    deadline = time.monotonic() + 10
    while (left := [pid for pid, start in below.items() if _alive(pid, start)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"left behind after SIGKILL: {[(p, Path(f'/proc/{p}/comm').read_text().strip()) for p in left]}"


def test_sigint_stops_everything(demo: Demo) -> None:
    below = _descendants(demo.proc.pid)
    assert len(below) >= 2  # the daemon and the broker at least (plus socat per bus where installed)
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=20) == 0
    left = [pid for pid, start in below.items() if _alive(pid, start)]
    assert left == [], f"left behind: {left}"
    assert not list(demo.state.glob("bus*-edge")), "virtual serial ports were not removed"
