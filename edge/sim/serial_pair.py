"""A virtual RS-485 line: two linked ptys made by socat, like a USB adapter on each end of a cable."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

# socat creates both links within milliseconds; 5 s only matters on a badly loaded machine.
START_TIMEOUT_S = 5.0


class SerialPair:
    """`a` and `b` are symlinks to the two pty ends; stop() removes them, as unplugging an adapter would."""

    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SerialPair:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed (apt-get install socat)")
        for link in (self.a, self.b):
            link.unlink(missing_ok=True)
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [socat, f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self.a.exists() and self.b.exists()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"socat did not create {self.a} and {self.b}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for link in (self.a, self.b):
            link.unlink(missing_ok=True)

    def __enter__(self) -> SerialPair:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
