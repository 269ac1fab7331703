"""`edge county` as a child process against a real broker and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from edge.api.tokens import Role, create_token
from tests.peers.ports import free_port

REPO = Path(__file__).resolve().parents[2]


class CountyProc:
    def __init__(
        self,
        tmp: Path,
        broker_url: str,
        dsn: str,
        client_id: str = "county-1",
        silent_after: int = 60,
        extra_mqtt: str = "",
        port: int | None = None,
    ) -> None:
        self.tmp = tmp / client_id
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.token = create_token(self.tmp / "tokens.yaml", "bureau", Role.VIEWER, cost=2**10)
        self.config = self.tmp / "county.yaml"
        self.config.write_text(
            f"name: 测试县教育局\n"
            f"mqtt: {{url: {broker_url}, topic_prefix: county, client_id: {client_id}{extra_mqtt}}}\n"
            f"database: {dsn}\n"
            f'api: {{listen: "127.0.0.1:{self.port}", tokens_file: {self.tmp / "tokens.yaml"}}}\n'
            f"silent_after: {silent_after}\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> CountyProc:
        log = (self.tmp / "county.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "county", "-c", str(self.config)],
            cwd=REPO,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                if r.status_code == 200 and r.json().get("ingest", {}).get("connected"):
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"edge county did not start; see {self.tmp / 'county.log'}")
            time.sleep(0.1)

    def add_user(self, name: str, role: str, password: str) -> None:
        """Through the CLI, as a bureau's IT person would: `edge user add ... -c county.yaml`."""
        cmd = [sys.executable, "-m", "edge", "user", "add", "--name", name, "--role", role, "--password-stdin"]
        out = subprocess.run(
            [*cmd, "-c", str(self.config)],
            check=False,
            cwd=REPO,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(
            f"http://127.0.0.1:{self.port}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).json()
        return body

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
