"""Wrong tokens cost the daemon time, never memory (edge/footprint.py: glibc's mmap threshold pinned).

Each check runs scrypt with a 16 MiB working block; before the pin, glibc kept that block resident
in the auth thread's arena from the second check on: six wrong tokens grew `edge run` by ~16 MB.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.site import Site

WRONG_TOKENS = 6
GROWTH_LIMIT_KIB = 6 * 1024  # far under the 16 MiB block that stayed


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))


def test_wrong_tokens_leave_no_resident_scrypt_block(site: Site) -> None:
    assert site.daemon is not None
    site.api("GET", "/status")  # one good check first: glibc moves its threshold on that block's free
    before = _rss_kib(site.daemon.pid)
    for i in range(WRONG_TOKENS):
        bad = f"edge_{i:012x}_not-a-secret"
        r = httpx.get(f"{site.url}/api/v1/status", headers={"Authorization": f"Bearer {bad}"}, timeout=30)
        assert r.status_code == 401
    grown = _rss_kib(site.daemon.pid) - before
    assert grown < GROWTH_LIMIT_KIB, f"the daemon grew {grown} KiB over {WRONG_TOKENS} wrong tokens"
