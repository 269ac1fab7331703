"""What `edge run` does to stay small (edge/footprint.py), each checked in a fresh interpreter.

- uvicorn is imported without its command line: no click, no multiprocessing, and the embedded server
  still gets uvicorn.Config and uvicorn.Server.
- glibc's mmap threshold is pinned: scrypt's 16 MiB working block (one per token or password check)
  goes back to the OS instead of staying resident in the auth thread's arena. The unpinned run is the
  control: on glibc it keeps the block, so the pinned figure is a real difference, not a quiet box.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

IMPORTS = """
import sys
from edge.footprint import leave_out_unused_modules
leave_out_unused_modules()
import edge.daemon
import uvicorn, uvicorn.config, uvicorn.server
assert uvicorn.Config is uvicorn.config.Config and uvicorn.Server is uvicorn.server.Server
print(sorted(m for m in ("click", "multiprocessing", "uvicorn.main", "pydantic.v1") if sys.modules.get(m)))
"""

SCRYPT = """
import hashlib, sys, threading
from edge.footprint import pin_mmap_threshold
if sys.argv[1] == "pin":
    assert pin_mmap_threshold()
def rss_kib():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
def checks():
    for _ in range(3):  # the first block is mmapped either way; glibc moves its threshold on that free
        hashlib.scrypt(b"secret", salt=bytes(16), n=2**14, r=8, p=1, maxmem=64 * 1024 * 1024)
before = rss_kib()
worker = threading.Thread(target=checks)
worker.start()
worker.join()
print(rss_kib() - before)
"""


def _run(program: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", program, *args], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_core_imports_uvicorn_without_its_command_line() -> None:
    assert _run(IMPORTS) == "[]"


def test_scrypt_memory_goes_back_with_the_threshold_pinned() -> None:
    kept_unpinned = int(_run(SCRYPT, "control"))
    kept_pinned = int(_run(SCRYPT, "pin"))
    assert kept_unpinned > 12 * 1024, f"control kept only {kept_unpinned} KiB: glibc behaves otherwise here"
    assert kept_pinned < 2 * 1024, f"pinned threshold still kept {kept_pinned} KiB"
