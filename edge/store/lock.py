"""The store's owner lock: one `edge run` per database, and no restore under a running daemon.

An advisory `flock` on `<store>.lock`, held for the daemon's lifetime. The kernel drops it when the
process dies (even by `kill -9`), so a crash never leaves a stale lock behind the way a PID file does.
The descriptor is close-on-exec, so children the daemon starts with exec (subprocess, spawn) do not hold
the lock; a child made by a bare fork would share it and must not outlive the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class StoreLocked(Exception):
    """Another process (a running daemon, or a restore) holds the store."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder}")
        self.path = path
        self.holder = holder


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


class StoreLock:
    """Exclusive, non-blocking; `release()` or process exit frees it."""

    def __init__(self, store: Path, owner: str) -> None:
        self.path = lock_path(store)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise StoreLocked(self.path, holder) from None
        # Who holds it, for the message the next one gets (a read-only lock file just goes without).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{owner} (pid {os.getpid()})\n".encode(), 0)
        self._fd: int | None = fd

    def _open(self) -> int:
        existed = self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except PermissionError:
            # flock needs no write access: a lock file root created still locks for the daemon's user.
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        if not existed and os.geteuid() == 0:
            # Made by root (a restore, a backup): hand it to the state directory's owner, the daemon's user.
            parent = self.path.parent.stat()
            with contextlib.suppress(OSError):
                os.fchown(fd, parent.st_uid, parent.st_gid)
        return fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
