"""Child processes the demo starts (daemon, broker, socat): own process group, reaped as a group.

Each child gets its own session, so a Ctrl-C in the terminal reaches only the demo, which then
stops the children in order; on Linux each child also gets PR_SET_PDEATHSIG, so even a demo killed
with SIGKILL takes its children with it. (The death signal follows the *thread* that forked: start
children from the main thread, never from `asyncio.to_thread`.)
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The daemon's own stop budget is 5 s (edge.daemon.SHUTDOWN_GRACE_S + margin); wait a little longer.
TERM_GRACE_S = 6.0


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One started child process (and its process group)."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path | None = None, env: dict[str, str] | None = None):
        self.name = name
        out = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - argv built by the demo, no shell
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl; no locks, no threads
                env=env,
            )
        finally:
            if log_path is not None and not isinstance(out, int):
                out.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self, grace: float = TERM_GRACE_S) -> int | None:
        """SIGTERM to the group, then SIGKILL after `grace` seconds; always reaps. Returns the exit code."""
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, grace)
        # Whatever the leader did, nothing of its group may outlive the demo.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=grace)
        return self.proc.returncode


class SocatLine:
    """A virtual RS-485 line made by socat: `a` and `b` are symlinks to the two pty ends."""

    # socat creates both links within milliseconds; 5 s only matters on a badly loaded machine.
    START_TIMEOUT_S = 5.0

    def __init__(self, socat: str, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        for link in (a, b):
            link.unlink(missing_ok=True)
        self.child = Child(f"socat:{a.name}", [socat, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"])
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while not (a.exists() and b.exists()):
            if not self.child.alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"socat did not create {a} and {b}")
            time.sleep(0.01)

    def stop(self) -> None:
        self.child.stop(grace=2.0)
        for link in (self.a, self.b):
            link.unlink(missing_ok=True)
