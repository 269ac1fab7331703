"""A real `edge run` at DEBUG with secrets in its config: none of them reaches its log; a revoked token's stream ends.

The webhook URL carries ?token=, the camera's media URL ?pwd=, the camera has a password file and the
DC-09 link an AES key. The daemon relays a real press to a real HTTP intake and the DC-09 receiver,
grabs frames from the video simulator with that URL, and answers API calls with good and bad tokens.
Then its whole log (stdout and stderr, every logger: httpx, httpcore, uvicorn, paho) is
searched for each secret.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from edge.api.tokens import Role
from tests.e2e.site import AES_KEY, CAM_PASS, REPO, Site, wait_until
from tests.peers.ports import free_port
from tests.peers.sia_receiver import hex_key

WEBHOOK_TOKEN = "WebhookTokenS3cr3tValue"
CAM_PWD = "CameraUrlPwdS3cr3t"
BAD_TOKEN_SECRET = "AttackerGuessS3cr3tValue0123456789"
REVOKE_BAR_S = 2.0


class Intake:
    """The police platform's HTTP intake: records each request's path and query."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.requests.append(f"{scope['path']}?{scope['query_string'].decode()}")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Intake]]:
    tmp: Path = tmp_path_factory.mktemp("secure")
    site = Site(tmp, {}, {"dorm-a": 8}, {"cam-gate": 40.0})
    intake = Intake()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(intake, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))

    tasks: list[asyncio.Task[None]] = []

    async def serve() -> None:
        tasks.append(asyncio.get_running_loop().create_task(server.serve()))
        while not server.started:
            await asyncio.sleep(0.01)

    async def stop() -> None:
        server.should_exit = True
        await asyncio.wait(tasks, timeout=5)

    try:
        site.start_peers()
        site.peers.call(serve())
        doc = site.config()
        doc["police"]["webhook"] = {"url": f"http://127.0.0.1:{port}/intake?site=e2e&token={WEBHOOK_TOKEN}"}
        assert site.video is not None
        doc["cameras"][0]["stream_uri"] = f"{site.video.url('cam-gate')}?user=admin&pwd={CAM_PWD}"
        site.write_config(doc)
        site.start_daemon(log_level="debug")
        yield site, intake
    finally:
        if tasks:
            site.peers.call(stop())
        site.stop()


def test_a_revoked_tokens_stream_ends_on_the_daemon(secure: tuple[Site, Intake]) -> None:
    site, _ = secure
    h = {"Authorization": f"Bearer {site.tokens[Role.VIEWER]}"}
    with (
        httpx.Client(base_url=site.url, timeout=httpx.Timeout(5, read=REVOKE_BAR_S + 3)) as http,
        http.stream("GET", "/api/v1/stream", headers=h) as r,
    ):
        lines = r.iter_lines()
        assert any(line.startswith("event: hello") for line in lines)
        t0 = time.monotonic()
        revoke = [sys.executable, "-m", "edge", "token", "revoke", "--name", "e2e-viewer", "-c", str(site.config_path)]
        subprocess.run(revoke, cwd=REPO, check=True, capture_output=True, env={**os.environ})
        rest = list(lines)  # ends when the daemon closes the stream (old code: read timeout)
        assert "event: revoked" in rest
        assert time.monotonic() - t0 < REVOKE_BAR_S + 3  # the CLI's own start-up (a Python process) included
    assert httpx.get(f"{site.url}/api/v1/status", headers=h, timeout=5).status_code == 401
    assert site.api("GET", "/status", Role.OPERATOR).status_code == 200


def test_no_secret_reaches_the_daemon_log(secure: tuple[Site, Intake]) -> None:
    site, intake = secure
    site.buttons["dorm-a"].press()
    wait_until(lambda: intake.requests, 15, "the press at the webhook intake")
    assert f"token={WEBHOOK_TOKEN}" in intake.requests[0]  # the secret was really used
    site.wait_received(8, 1, timeout=15)

    def quality() -> object:
        cam = site.api("GET", "/devices/cam-gate", Role.OPERATOR).json()
        return cam.get("checks", {}).get("quality")

    wait_until(quality, 30, "a quality check through the ?pwd= URL")
    bad = f"edge_0123456789ab_{BAD_TOKEN_SECRET}"
    assert httpx.get(f"{site.url}/api/v1/status", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    site.stop_daemon()  # everything flushed

    log = site.log_path.read_text(errors="replace")
    assert "DEBUG" in log and "httpx" in log  # it was a DEBUG run and the HTTP client did log
    assert "token=***" in log  # the webhook URL was logged, redacted
    # Camera URLs are requested by the camera worker, which logs its HTTP client at WARNING only;
    # whatever it does log of a camera URL is redacted like the rest.
    assert "pwd=" not in log.replace("pwd=***", ""), "a camera password parameter was logged unredacted"
    secrets = {
        "webhook token": WEBHOOK_TOKEN,
        "camera URL pwd": CAM_PWD,
        "camera password": CAM_PASS,
        "DC-09 key": AES_KEY,
        "DC-09 key (hex)": hex_key(AES_KEY),
        "an attacker's token": BAD_TOKEN_SECRET,
        **{f"{r.label} token": t.split("_", 2)[2] for r, t in site.tokens.items()},
    }
    leaked = {what: [line for line in log.splitlines() if s in line][:2] for what, s in secrets.items() if s in log}
    assert not leaked, leaked
