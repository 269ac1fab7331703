"""A guard's patrol on a real daemon: a reader over real mosquitto, the API with role checks, and the
phone page in Debian's chromium opened from the QR code as printed on the checkpoint sheet."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import paho.mqtt.publish as publish
import pytest

from edge.events import now_ms
from tests.browser import chromium
from tests.helpers import daemon_process, edge_cmd, free_port
from tests.peers.mosquitto import Mosquitto

GUARD_PASSWORD = "zhangsan-patrol-1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

CONFIG = """\
site: {{id: sch-1, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:{port}", tokens_file: {dir}/tokens.yaml}}
mqtt: {{url: "{mqtt}"}}
patrol:
  checkpoints:
    - {{id: cp-gate, name: 南门, location: 南门岗亭, tag: "04A1B2C3D4"}}
    - {{id: cp-lab, name: 实验楼, location: 实验楼一层, tag: "QR-LAB-01"}}
  plans:
    - {{id: key-areas, name: 重点部位, checkpoints: [cp-gate, cp-lab], rounds_per_day: 5, window: "00:00-24:00"}}
"""


def _token(cfg: Path, name: str, role: str) -> str:
    out = subprocess.run(
        edge_cmd("token", "create", "--name", name, "--role", role, "-c", str(cfg)),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with Mosquitto(tmp_path / "broker") as broker:
        port = free_port()
        cfg = tmp_path / "edge.yaml"
        cfg.write_text(CONFIG.format(dir=tmp_path, port=port, mqtt=broker.url), encoding="utf-8")
        tokens = {"guard": _token(cfg, "张三", "guard"), "viewer": _token(cfg, "看板", "viewer")}
        add = edge_cmd("user", "add", "--name", "张三", "--role", "guard", "--password-stdin", "-c", str(cfg))
        subprocess.run(add, input=GUARD_PASSWORD + "\n", text=True, check=True, capture_output=True)
        with daemon_process(cfg, port):
            yield {"cfg": cfg, "port": port, "broker": broker, "tokens": tokens, "base": f"http://127.0.0.1:{port}"}


def _day(g: dict[str, Any]) -> dict[str, Any]:
    r = httpx.get(f"{g['base']}/api/v1/patrol", headers={"Authorization": f"Bearer {g['tokens']['viewer']}"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _until(g: dict[str, Any], checkins: int, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        day = _day(g)
        if day["checkins"] >= checkins or time.monotonic() > deadline:
            return day
        time.sleep(0.1)


def test_reader_api_and_phone(gateway: dict[str, Any], tmp_path: Path) -> None:
    g = gateway
    port = g["broker"].port
    topic = "edge/patrol/reader-1/checkin"
    now_s = now_ms() / 1000
    publish.single(topic, b"not json", qos=1, hostname="127.0.0.1", port=port)
    publish.single(topic, json.dumps({"tag": "DEADBEEF", "ts": now_s}), qos=1, hostname="127.0.0.1", port=port)
    body = json.dumps({"tag": "04a1b2c3d4", "ts": now_s - 60, "guard": "王五"})
    for _ in range(2):  # the second is a duplicate (a reader resending after a lost PUBACK)
        publish.single(topic, body, qos=1, hostname="127.0.0.1", port=port)
    day = _until(g, 1)
    assert day["checkins"] == 1
    (plan,) = day["plans"]
    assert plan["rounds"][0]["visits"][0] == {
        "checkpoint": "cp-gate",
        "at": plan["rounds"][0]["started_at"],
        "guard": "王五",
    }
    assert plan["rounds"][0]["missing"] == ["cp-lab"] and plan["verdict"] == "pending"
    metrics = httpx.get(
        f"{g['base']}/api/v1/metrics", headers={"Authorization": f"Bearer {g['tokens']['viewer']}"}
    ).text
    assert 'edge_patrol_checkins_total{outcome="rejected",source="mqtt"} 2.0' in metrics
    assert 'edge_patrol_checkins_total{outcome="duplicate",source="mqtt"} 1.0' in metrics

    # The API: a viewer may not check in, a guard may; unknown tags are refused with a reason.
    url = f"{g['base']}/api/v1/patrol/checkins"
    viewer = httpx.post(url, json={"tag": "QR-LAB-01"}, headers={"Authorization": f"Bearer {g['tokens']['viewer']}"})
    assert viewer.status_code == 403
    unknown = httpx.post(url, json={"tag": "nope"}, headers={"Authorization": f"Bearer {g['tokens']['guard']}"})
    assert unknown.status_code == 400 and "unknown tag" in unknown.text
    assert httpx.post(url, json={"tag": "QR-LAB-01"}).status_code == 401

    # The printed sheet, read by a camera as a phone would, leads to the scan page.
    sheet = tmp_path / "sheet.html"
    subprocess.run(
        edge_cmd("patrol", "qr-sheet", "-c", str(g["cfg"]), "--url", g["base"], "-o", str(sheet)), check=True
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page()
        page.goto(sheet.as_uri())
        png = page.locator(".card").nth(1).locator("svg").screenshot()
        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None
        scanned, _points, _ = cv2.QRCodeDetector().detectAndDecode(img)
        assert scanned == f"{g['base']}/patrol/scan?tag=QR-LAB-01"

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(scanned)
        phone.fill("#username", "张三")
        phone.fill("#password", "wrong-password")
        phone.click("#log-in")
        phone.wait_for_selector("#result.err")
        phone.fill("#password", GUARD_PASSWORD)
        phone.click("#log-in")
        phone.wait_for_selector("#confirm:visible")
        phone.fill("#note", "实验楼东侧消防通道堆放杂物")
        phone.click("#confirm")
        phone.wait_for_selector("#result.ok", timeout=10_000)
        assert "已打卡" in phone.inner_text("#result") and "实验楼" in phone.inner_text("#result")
        phone.screenshot(path=str(ARTIFACTS / "patrol-phone.png"), full_page=True)
        phone.reload()  # the next checkpoint: the guard stays logged in on this phone
        phone.wait_for_selector("#confirm:visible")
        assert not phone.is_visible("#password")

        # The duty screen's patrol card: the round, who walked it, the problem noted.
        duty = browser.new_page(viewport={"width": 1400, "height": 1000})
        duty.goto(g["base"] + "/")
        duty.fill("#token", g["tokens"]["viewer"])
        duty.click("#login-btn")
        duty.wait_for_selector("#patrol:not([hidden]) .patrol-rounds li[data-status=complete]", timeout=10_000)
        card = duty.inner_text("#patrol")
        assert "重点部位" in card and "第1轮 完成" in card and "张三、王五" in card
        assert "实验楼 · 张三: 实验楼东侧消防通道堆放杂物" in card and "已完成 1 / 要求 5" in card
        duty.locator("#patrol").screenshot(path=str(ARTIFACTS / "patrol-card.png"))

    day = _until(g, 2)
    (plan,) = day["plans"]
    assert plan["rounds"][0]["missing"] == [] and plan["rounds"][0]["guards"] == ["张三", "王五"]
    assert plan["rounds_walked"] == 1
    assert day["problems"][0]["note"] == "实验楼东侧消防通道堆放杂物" and day["problems"][0]["guard"] == "张三"
