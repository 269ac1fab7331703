"""A real mosquitto broker on a free loopback port, with persistence so a restart keeps QoS 1 sessions.

Usage (other suites may import it)::

    broker = Mosquitto(tmp_path).start()
    broker.url          # mqtt://127.0.0.1:PORT
    broker.restart()    # SIGTERM (saves sessions) + start on the same port
    broker.stop(kill=True)  # SIGKILL: only what autosave wrote survives
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

from tests.peers.ports import free_port, wait_listening


class Mosquitto:
    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_conf(self) -> None:
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            # Autosave every second so even a SIGKILL keeps sessions older than 1 s.
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 100\n"
            # Latency figures must not include Nagle's 40 ms.
            "set_tcp_nodelay true\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n" + self.extra_conf
        )

    def start(self) -> Mosquitto:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self._write_conf()
        self.proc = subprocess.Popen([exe, "-c", str(self.conf)], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_listening(self.port)
        except OSError:
            self.stop(kill=True)
            raise RuntimeError(f"mosquitto did not start; see {self.log}") from None
        return self

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def restart(self, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
