"""A real mosquitto broker on a free loopback port, with persistence so a restart keeps QoS 1 sessions.

Usage (other suites may import it)::

    broker = Mosquitto(tmp_path).start()
    broker.url          # mqtt://127.0.0.1:PORT
    broker.restart()    # SIGTERM (saves sessions) + start on the same port
    broker.stop(kill=True)  # SIGKILL: only what autosave wrote survives
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.peers.ports import free_port, wait_listening


def bridge_conf(name: str, remote_url: str, topic: str, client_id: str) -> str:
    """mosquitto.conf lines bridging `topic` (QoS 1, outwards) to the broker at `remote_url` with a
    persistent session on both sides, so a link that is down queues here and is delivered once back."""
    host_port = remote_url.rsplit("//", 1)[1]
    return (
        f"connection {name}\n"
        f"address {host_port}\n"
        f"topic {topic} out 1\n"
        f"remote_clientid {client_id}\n"
        "bridge_protocol_version mqttv50\n"  # keeps the uplink's user properties (published_ms)
        "cleansession false\n"
        "local_cleansession false\n"
        "try_private false\n"
        "restart_timeout 1 2\n"
        "keepalive_interval 5\n"
        "start_type automatic\n"
    )


class Mosquitto:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_conf: str = "",
        tls: tuple[Path, Path, Path] | None = None,
        passwords: dict[str, str] | None = None,
    ) -> None:
        """`tls` = (ca, cert, key) makes the listener TLS-only; `passwords` turns off anonymous access."""
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.tls = tls
        self.passwords = passwords
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def _auth_conf(self) -> str:
        conf = ""
        if self.tls:
            ca, cert, key = self.tls
            conf += f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
        if self.passwords is None:
            return conf + "allow_anonymous true\n"
        pw = self.workdir / "passwd"
        pw.write_text("")
        for user, password in self.passwords.items():
            subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True, capture_output=True)
        return conf + f"allow_anonymous false\npassword_file {pw}\n"

    def _write_conf(self) -> None:
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            + self._auth_conf()
            # As root, mosquitto would switch to the "mosquitto" user, who cannot write our temp dirs.
            + ("user root\n" if os.geteuid() == 0 else "")
            + "persistence true\n"
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

    @property
    def db(self) -> Path:
        return self.workdir / "mosquitto.db"

    def wait_saved(self, timeout: float = 5.0) -> None:
        """Block until the broker has autosaved after this call, so a SIGKILL keeps today's sessions."""
        since = time.time()
        deadline = time.monotonic() + timeout
        while not (self.db.exists() and self.db.stat().st_mtime > since):
            if time.monotonic() > deadline:
                raise TimeoutError(f"mosquitto did not save {self.db}")
            time.sleep(0.05)

    def restart(self, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
