"""The daemon as a process: SIGTERM, SIGHUP reload, and systemd notify."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import httpx

from edge.api.tokens import Role, create_token
from tests.helpers import daemon_process, free_port, minimal_config


def test_sigterm_stops_within_5_s(tmp_path: Path) -> None:
    port = free_port()
    with daemon_process(minimal_config(tmp_path, port), port) as proc:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        assert time.monotonic() - started < 5
        assert proc.returncode == 0


def test_sighup_keeps_running_config_when_new_one_is_broken(tmp_path: Path) -> None:
    port = free_port()
    config = minimal_config(tmp_path, port, name="旧名字")
    tokens = tmp_path / "tokens.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("api: {", f"api: {{tokens_file: {tokens}, "))
    auth = {"Authorization": f"Bearer {create_token(tokens, 'test', Role.VIEWER)}"}
    with daemon_process(config, port) as proc:
        status = f"http://127.0.0.1:{port}/api/v1/status"
        good = config.read_text(encoding="utf-8")
        config.write_text(good.replace("旧名字", "新名字") + "mqtt: {url: not-a-url}\n", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert proc.poll() is None, "a broken config must not stop the daemon"
        assert httpx.get(status, headers=auth).json()["site"]["name"] == "旧名字"
        config.write_text(good.replace("旧名字", "新名字"), encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while httpx.get(status, headers=auth).json()["site"]["name"] != "新名字":
            assert time.monotonic() < deadline, "a valid new config is applied"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=5)[0].decode()
    assert "reload rejected" in out and "mqtt.url" in out


def test_systemd_ready_and_watchdog(tmp_path: Path) -> None:
    port = free_port()
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(40)  # start-up (and the camera worker importing OpenCV) is slow on a loaded box
    env = {"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"}  # ping every 0.2 s
    messages: list[str] = []
    with daemon_process(minimal_config(tmp_path, port), port, env=env, wait=False):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum("WATCHDOG=1" in m for m in messages) < 3:
            messages.append(sock.recv(4096).decode())
    sock.close()
    assert "READY=1" in messages[0]
    assert sum("WATCHDOG=1" in m for m in messages) >= 3
    assert any("STATUS=devices:" in m for m in messages)
