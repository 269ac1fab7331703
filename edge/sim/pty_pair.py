"""A virtual serial line without socat: two ptys whose master ends a thread cross-connects.

Same shape as `SerialPair` (symlinks `a` and `b` to the two slave ends; start/stop/context manager),
so the demo uses socat when it is installed and this otherwise.
"""

from __future__ import annotations

import contextlib
import os
import pty
import selectors
import shutil
import threading
import tty
from pathlib import Path

from edge.sim.serial_pair import SerialPair

CHUNK = 4096  # more than any Modbus RTU frame (256 bytes); one read moves a whole burst


class PtyPair:
    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        self._fds: list[int] = []
        self._slaves: list[int] = []
        self._stop_r, self._stop_w = -1, -1
        self._thread: threading.Thread | None = None

    def start(self) -> PtyPair:
        masters = []
        for link in (self.a, self.b):
            master, slave = pty.openpty()
            tty.setraw(slave)  # no echo, no line discipline: bytes pass as they are, like a UART
            name = os.ttyname(slave)
            # Our slave fd stays open (unread) so the master never sees EIO/HUP while no client has the port.
            self._slaves.append(slave)
            link.unlink(missing_ok=True)
            link.symlink_to(name)
            masters.append(master)
        self._fds = masters
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._pump, name=f"pty-pair:{self.a.name}", daemon=True)
        self._thread.start()
        return self

    def _pump(self) -> None:
        sel = selectors.DefaultSelector()
        ma, mb = self._fds
        sel.register(ma, selectors.EVENT_READ, mb)
        sel.register(mb, selectors.EVENT_READ, ma)
        sel.register(self._stop_r, selectors.EVENT_READ, None)
        try:
            while True:
                for key, _ in sel.select():
                    if key.data is None:
                        return
                    try:
                        data = os.read(key.fd, CHUNK)
                    except OSError:
                        return  # the pty is gone (stop() closed it under us)
                    with contextlib.suppress(OSError):
                        os.write(key.data, data)
        finally:
            sel.close()

    def stop(self) -> None:
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join(timeout=2)
            self._thread = None
        for fd in [*self._fds, *self._slaves, self._stop_r, self._stop_w]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fds, self._slaves, self._stop_r, self._stop_w = [], [], -1, -1
        for link in (self.a, self.b):
            link.unlink(missing_ok=True)

    def __enter__(self) -> PtyPair:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serial_pair(a: Path, b: Path, prefer_socat: bool = True) -> SerialPair | PtyPair:
    """A started virtual line: socat when installed (and preferred), else Python ptys."""
    if prefer_socat and shutil.which("socat"):
        return SerialPair(a, b).start()
    return PtyPair(a, b).start()
