"""What `edge run` does to stay small (edge/footprint.py), each checked in a fresh interpreter.

- uvicorn is imported without its command line: no click, no multiprocessing, and the embedded server
  still gets uvicorn.Config and uvicorn.Server; prometheus_client without its exposition module (no
  http.server), its metric classes and default registry in place and the process collectors on it.
- glibc's mmap threshold is pinned: scrypt's 16 MiB working block (one per token or password check)
  goes back to the OS instead of staying resident in the auth thread's arena. The unpinned run is the
  control: on glibc it keeps the block, so the pinned figure is a real difference, not a quiet box.
- FastAPI's own pydantic models (the OpenAPI document's, the security schemes') are defined with their
  builds deferred, and only those: /openapi.json comes out the same as in an interpreter that built
  them at import, a bearer token still authenticates, and edge's models are built as before.
- glibc's arenas are limited to two: six threads that allocate share them (malloc_info counts the
  heaps), where the unlimited control gives them more.
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
import prometheus_client, prometheus_client.metrics, prometheus_client.registry
assert prometheus_client.Counter is prometheus_client.metrics.Counter
assert prometheus_client.REGISTRY is prometheus_client.registry.REGISTRY
from edge.metrics_text import exposition
text = exposition([prometheus_client.REGISTRY]).decode()  # the default collectors registered themselves
assert "process_resident_memory_bytes" in text and "python_gc_objects_collected_total" in text, text
left_out = ("click", "multiprocessing", "uvicorn.main", "pydantic.v1", "prometheus_client.exposition", "http.server")
print(sorted(m for m in left_out if sys.modules.get(m)))
"""

OPENAPI = """
import json, sys, tempfile
from pathlib import Path
if sys.argv[1] == "deferred":
    from edge.footprint import leave_out_unused_modules
    leave_out_unused_modules()
    from fastapi.openapi.models import OpenAPI
    assert not OpenAPI.__pydantic_complete__, "FastAPI's models were built at import"
from fastapi.testclient import TestClient
from edge.api.app import create_app
from edge.config.models import Config
from tests.api.site import build_site
assert Config.__pydantic_complete__, "edge's own models were deferred too"
site = build_site(Path(tempfile.mkdtemp()))
with TestClient(create_app(site.state)) as client:
    headers = {"Authorization": f"Bearer {site.tokens['viewer']}"}
    assert client.get("/api/v1/status", headers=headers).status_code == 200
    assert client.get("/api/v1/status").status_code == 401
    document = client.get("/openapi.json", headers=headers).json()
print(json.dumps(document, sort_keys=True))
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


ARENAS = """
import ctypes, os, sys, tempfile, threading
from edge.footprint import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
start = threading.Barrier(6)
def allocate():
    start.wait()  # all six at once, so each finds the others' arenas busy
    keep = [bytearray(2000) for _ in range(2000)]
    start.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
path = os.path.join(tempfile.mkdtemp(), "malloc.xml")
f = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, f)
libc.fclose(f)
print(open(path).read().count("<heap nr="))
"""


def _run(program: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", program, *args], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_core_imports_uvicorn_and_prometheus_client_without_what_it_never_uses() -> None:
    assert _run(IMPORTS) == "[]"


def test_fastapi_models_built_on_first_use_give_the_same_openapi_document() -> None:
    assert _run(OPENAPI, "deferred") == _run(OPENAPI, "control")


def test_scrypt_memory_goes_back_with_the_threshold_pinned() -> None:
    kept_unpinned = int(_run(SCRYPT, "control"))
    kept_pinned = int(_run(SCRYPT, "pin"))
    assert kept_unpinned > 12 * 1024, f"control kept only {kept_unpinned} KiB: glibc behaves otherwise here"
    assert kept_pinned < 2 * 1024, f"pinned threshold still kept {kept_pinned} KiB"


def test_threads_share_two_malloc_arenas() -> None:
    unlimited = int(_run(ARENAS, "control"))
    limited = int(_run(ARENAS, "limit"))
    assert unlimited > 2, f"control made only {unlimited} arenas: glibc behaves otherwise here"
    assert limited <= 2, f"limited to 2 arenas, malloc_info shows {limited}"
