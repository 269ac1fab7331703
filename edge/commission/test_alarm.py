"""`edge commission test-alarm BUTTON`: an end-to-end test of one button through the running daemon.

Puts the button in maintenance (so its press is a test: CID 1601 / SIA RX to the police, no alarm),
waits for the technician's press, shows it arriving at the daemon and the police receiver's ACK of
the test report with the measured latency, waits for the button to be back at rest (its release is
then stored as a test too, so no real PANIC_RESTORE goes to the police for a press they saw as a test),
then always takes the button out of maintenance. The rule engine keeps the release of a test press a
test even when maintenance ends while the button is held (an interrupted run, a window running out).
Everything goes through the daemon's API with a technician token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from edge.config import Config

POLL_S = 0.1  # how often the event list is read while waiting; cheap for the daemon, fine for latency display
HTTP_TIMEOUT_S = 5.0

Say = Callable[[str], None]


class TestAlarmError(RuntimeError):
    """The test could not be carried out (API refused, unknown button, nobody pressed in time)."""


@dataclass(slots=True)
class TestResult:
    button: str
    pressed_at: str  # the press event's time (the driver's timestamp)
    relay_state: str
    receiver: str | None
    acked_at: str | None
    latency_ms: float | None  # press -> receiver ACK
    released_at: str | None = None  # the release (button back at rest), stored as a test

    @property
    def passed(self) -> bool:
        return self.relay_state in ("delivered", "acked") and self.acked_at is not None


def base_url(config: Config) -> str:
    scheme = "https" if config.api.tls_cert_file else "http"
    host = config.api.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - mapping a wildcard to loopback
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{config.api.port}"


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


class TestAlarm:
    def __init__(self, client: httpx.Client, button: str, say: Say, minutes: int = 10) -> None:
        self.client, self.button, self.say, self.minutes = client, button, say, minutes

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self.client.request(method, "/api/v1" + path, **kw)
        except httpx.HTTPError as exc:
            raise TestAlarmError(
                f"守护进程无应答 / the daemon does not answer: {exc}\n  处理 fix: 确认 edge 正在运行、--url 与 "
                "api.listen 一致 / check that edge runs and --url matches api.listen"
            ) from exc
        if r.status_code in (401, 403):
            raise TestAlarmError(
                f"令牌无效或权限不足（需要技术员）/ token refused, technician role needed ({r.status_code})\n"
                "  处理 fix: edge token create --role technician"
            )
        if r.status_code == 404:
            raise TestAlarmError(
                f"没有这个设备 / no device {self.button!r}\n"
                "  处理 fix: 用配置中的按钮 id / use a button id from the config"
            )
        if r.status_code >= 400:
            raise TestAlarmError(f"API {method} {path}: {r.status_code} {r.text[:200]}")
        return r.json()

    def _first_test(self, kind: str, since: str) -> dict[str, Any] | None:
        page = self._call("GET", "/events", params={"device": self.button, "kind": kind, "since": since})
        items = [e for e in page["items"] if e.get("test")]
        return items[-1] if items else None  # newest first: the last is the first one since `since`

    def _press(self, since: str) -> dict[str, Any] | None:
        return self._first_test("alarm.press", since)

    def _release(self, since: str) -> dict[str, Any] | None:
        return self._first_test("alarm.release", since)

    def _event(self, event_id: str, since: str) -> dict[str, Any] | None:
        page = self._call("GET", "/events", params={"device": self.button, "since": since, "limit": 1000})
        return next((e for e in page["items"] if e["id"] == event_id), None)

    def run(self, wait_press_s: float = 120.0, wait_ack_s: float = 30.0, wait_release_s: float = 60.0) -> TestResult:
        dev = self._call("GET", f"/devices/{self.button}")
        if dev.get("type") != "button":
            raise TestAlarmError(f"{self.button} 不是报警按钮 / is a {dev.get('type')}, not a button")
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self._call("POST", f"/devices/{self.button}/maintenance", json={"minutes": self.minutes})
        self.say(f"{dev.get('name', self.button)}（{dev.get('location', '')}）已进入测试模式 / in test mode")
        try:
            self.say(f"请现在按下按钮（{wait_press_s:.0f} 秒内）/ press the button now (within {wait_press_s:.0f} s)")
            press = self._wait(
                lambda: self._press(started),
                wait_press_s,
                "没有收到按下 / no press arrived\n  处理 fix: 检查按钮接线与供电（串口：edge commission serial；"
                "MQTT：按钮是否连上 broker），或加大 --wait / check the button's wiring and power (serial: edge "
                "commission serial; MQTT: is it connected to the broker), or raise --wait",
            )
            self.say(f"守护进程收到按下 / the daemon got the press at {press['time']} (test={press['test']})")
            event = self._wait(
                lambda: self._acked(press["id"], started),
                wait_ack_s,
                "接警中心没有确认 / no ACK from the police\n  处理 fix: 检查接警链路（仪表盘的接警链路状态）、"
                "接收机地址与账号 / check the police link (the dashboard's link state), receiver address and account",
            )
            relay = event["relay"]
            latency = _ms(relay["acked_at"]) - _ms(press["time"])
            self.say(
                f"接警中心已确认测试报告 / police receiver ACKed the test report: {relay['receiver']} "
                f"at {relay['acked_at']}，延迟 latency {latency:.0f} ms"
            )
            released = self._at_rest(press["time"], wait_release_s)
            return TestResult(
                self.button, press["time"], relay["state"], relay["receiver"], relay["acked_at"], latency, released
            )
        finally:
            self._call("DELETE", f"/devices/{self.button}/maintenance")
            self.say("已退出测试模式 / test mode cleared")

    def _at_rest(self, pressed_at: str, within: float) -> str | None:
        """Test mode lasts until the button is released: its restore must reach the police as a test."""
        release = self._release(pressed_at)
        if release is None:
            self.say(f"请松开或复位按钮（{within:.0f} 秒内）/ release or reset the button (within {within:.0f} s)")
            try:
                release = self._wait(lambda: self._release(pressed_at), within, "")
            except TestAlarmError:
                self.say(
                    "按钮仍处于按下状态；其复位仍按测试上报 / the button is still held; "
                    "its release will still be reported as a test"
                )
                return None
        self.say(f"按钮已复位（测试）/ the button is back at rest at {release['time']} (test={release['test']})")
        return str(release["time"])

    def _acked(self, event_id: str, since: str) -> dict[str, Any] | None:
        event = self._event(event_id, since)
        relay = (event or {}).get("relay") or {}
        if relay.get("state") in ("failed", "rejected"):
            raise TestAlarmError(
                f"测试报告发送失败 / the test report failed: {relay.get('state')} {relay.get('error') or ''}\n"
                "  处理 fix: 检查接收机账号与加密密钥 / check the receiver account and encryption key"
            )
        return event if relay.get("acked_at") else None

    @staticmethod
    def _wait(probe: Callable[[], dict[str, Any] | None], within: float, message: str) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            found = probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TestAlarmError(message)
            time.sleep(POLL_S)
