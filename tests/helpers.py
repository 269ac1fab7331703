"""Small helpers shared by the suites: free ports, configs on disk, the daemon as a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def minimal_config(tmp: Path, port: int, extra: str = "", name: str = "测试学校") -> Path:
    path = tmp / "edge.yaml"
    path.write_text(
        f"site: {{id: test-site, name: {name}}}\n"
        f"storage: {{path: {tmp / 'edge.db'}}}\n"
        f'api: {{listen: "127.0.0.1:{port}"}}\n' + extra,
        encoding="utf-8",
    )
    return path


def edge_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge", *args]


def wait_http(url: str, timeout: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=1.0)
            if r.status_code < 500:
                return r
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s: {last}")


def buttons_online(base_url: str, token: str, button_ids: Iterable[str]) -> bool:
    """Whether the daemon shows each of these MQTT buttons online: their retained `online` came through
    its subscription. /healthz answers before paho has subscribed, and until the daemon's persistent
    session exists the broker drops a press published to it (a real gateway has had its session since
    commissioning; a test's first start has not), so a test waits for this before it presses."""
    try:
        r = httpx.get(f"{base_url}/api/v1/devices", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    except httpx.HTTPError:
        return False
    if r.status_code != 200:
        return False
    states = {d["id"]: d["state"] for d in r.json()}
    return all(states.get(b) == "online" for b in button_ids)


@contextlib.contextmanager
def daemon_process(
    config: Path, port: int, env: dict[str, str] | None = None, wait: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        edge_cmd("run", "-c", str(config)),
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        if wait:
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=40)  # a loaded CI box starts slowly
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
