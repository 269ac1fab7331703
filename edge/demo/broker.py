"""The demo's MQTT broker on a free loopback port: mosquitto when installed, else amqtt (pure Python)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import sys
import time
from pathlib import Path

from edge.demo.procs import Child

# Both brokers listen within a second; 10 s covers a first start on a slow box.
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout: float, child: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if (child is not None and not child.alive()) or time.monotonic() > deadline:
                raise RuntimeError(f"nothing is listening on 127.0.0.1:{port}") from None
            time.sleep(0.05)


class Broker:
    def __init__(self, workdir: Path, prefer: str = "mosquitto") -> None:
        self.workdir = workdir
        self.port = free_port()
        self.kind = "mosquitto" if prefer == "mosquitto" and self._mosquitto() else "amqtt"
        self.child: Child | None = None

    @staticmethod
    def _mosquitto() -> str | None:
        return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        log = self.workdir / f"{self.kind}.log"
        if self.kind == "mosquitto":
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                # Started as root, mosquitto switches to its own user, and the kernel drops the child's
                # death signal on that switch (edge/demo/procs.py): a demo killed with SIGKILL left the
                # broker running. Staying the demo's own user keeps it.
                f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
                # The button latency bar is 500 ms p99; Nagle's 40 ms has no place in it.
                "set_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\n"
            )
            argv = [str(self._mosquitto()), "-c", str(conf)]
        else:
            conf = self.workdir / "amqtt.yaml"
            conf.write_text(
                "listeners:\n  default:\n    type: tcp\n"
                f"    bind: 127.0.0.1:{self.port}\n"
                "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
            )
            exe = Path(sys.executable).with_name("amqtt")
            argv = [str(exe), "-c", str(conf)]
        self.child = Child(self.kind, argv, log)
        try:
            wait_listening(self.port, START_TIMEOUT_S, self.child)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{self.kind} did not start; see {log}") from None
        return self

    def stop(self) -> None:
        child, self.child = self.child, None
        if child is not None:
            child.stop(grace=3.0)
