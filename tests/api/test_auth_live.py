"""Auth under attack, against a real uvicorn server and real HTTP clients.

Bad tokens from an address never lock out good ones from it; a failure costs the same whether or
not the key id exists; 64 concurrent bad requests leave /healthz answering in under 100 ms; a
revoked token's open stream ends at once. Tokens here have the production scrypt cost, because the
cost is what an attacker exploits.
"""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from edge.api.tokens import Role, create_token, revoke_token
from tests.api.conftest import bearer
from tests.api.live import LiveServer
from tests.api.site import Site
from tests.api.test_sse import frames

STATUS = "/api/v1/status"
HEALTHZ_BAR_S = 0.1  # what the issue asks of /healthz while bad requests run (95th percentile)
# No single answer may take this long. On a 2-core box shared with other work a quiet /healthz already
# peaks at ~0.1 s (measured), so the bar is on the 95th percentile (old code: 1.9 s behind the hashes).
HEALTHZ_WORST_S = 1.0
REVOKE_BAR_S = 2.0  # a revoked stream ends within one poll round (1 s) plus slack


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def real_cost(site: Site) -> dict[str, str]:
    """Tokens at the production scrypt cost (a real `edge token create`)."""
    path = site.config.api.tokens_file
    assert path is not None
    return {r.label: create_token(path, f"{r.label}-real", r) for r in (Role.VIEWER, Role.OPERATOR)}


def wrong_secret(token: str) -> str:
    """The same (existing) key id with another secret."""
    prefix, kid, _ = token.split("_", 2)
    return f"{prefix}_{kid}_{secrets.token_urlsafe(32)}"


def unknown_kid() -> str:
    return f"edge_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


BURST = """
import asyncio, json, sys
import httpx
async def main(url, tokens):
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=None)) as http:
        print("ready", flush=True)
        sys.stdin.readline()
        got = await asyncio.gather(*(http.get("STATUS_PATH", headers={"Authorization": "Bearer " + t}) for t in tokens))
    print(json.dumps([r.status_code for r in got]), flush=True)
asyncio.run(main(sys.argv[1], json.loads(sys.stdin.readline())))
""".replace("STATUS_PATH", STATUS)


class Attacker:
    """The attacker as its own process (as it would be): its client work does not share our GIL.
    It starts up (imports) first and sends its whole burst at once on `go()`."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BURST, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(tokens) + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ready"

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.close()

    def running(self) -> bool:
        return self.proc.poll() is None

    def codes(self) -> list[int]:
        assert self.proc.stdout is not None
        out: list[int] = json.loads(self.proc.stdout.readline())
        self.proc.wait(timeout=10)
        return out


def test_bad_tokens_from_one_address_never_lock_out_good_ones(
    live: LiveServer, site: Site, real_cost: dict[str, str]
) -> None:
    viewer, operator = real_cost["viewer"], real_cost["operator"]
    with httpx.Client(base_url=live.url, timeout=30) as http:
        assert http.get(STATUS, headers=bearer(viewer)).status_code == 200  # the duty screen, logged in
        invalid = sample("edge_api_auth_failures_total", reason="invalid")
        limited = sample("edge_api_auth_failures_total", reason="rate_limited")
        attacker = Attacker(live.url, [unknown_kid() for _ in range(40)])
        attacker.go()
        time.sleep(0.3)  # the burst is in flight: the budget is spent, the slow lane is full
        t0 = time.monotonic()
        during = http.get(STATUS, headers=bearer(viewer))
        cached_s = time.monotonic() - t0
        codes = attacker.codes()
        assert during.status_code == 200 and cached_s < 0.5, (during.status_code, cached_s)
        assert codes.count(401) >= 20 and set(codes) <= {401, 429}, codes  # 429: refused before any hash
        assert codes.count(429) >= 1
        # A token this address never used before still gets in (old code: 429 for 60 s).
        assert http.get(STATUS, headers=bearer(operator)).status_code == 200
        # Revoking someone else's token rewrites the file; the screen's token stays verified.
        assert site.config.api.tokens_file is not None and revoke_token(site.config.api.tokens_file, "admin-duty")
        checks = sample("edge_api_auth_checks_total", outcome="ok")
        assert http.get(STATUS, headers=bearer(viewer)).status_code == 200
        assert sample("edge_api_auth_checks_total", outcome="ok") == checks  # served without a hash
    assert sample("edge_api_auth_failures_total", reason="invalid") - invalid >= 20
    assert sample("edge_api_auth_failures_total", reason="rate_limited") - limited >= 1


def _median_s(http: httpx.Client, token: str, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        assert http.get(STATUS, headers=bearer(token)).status_code == 401
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def test_a_failure_costs_the_same_whatever_the_key_id(live: LiveServer, real_cost: dict[str, str]) -> None:
    known = wrong_secret(real_cost["viewer"])
    failed = sample("edge_api_auth_checks_total", outcome="failed")
    with httpx.Client(base_url=live.url, timeout=30) as http:
        http.get("/healthz")  # connection up
        medians = {"known": [], "unknown": []}  # type: dict[str, list[float]]
        for _ in range(3):  # interleaved, so a load spike on the box hits both alike; 18 failures < budget
            medians["known"].append(_median_s(http, known, 3))
            medians["unknown"].append(_median_s(http, unknown_kid(), 3))
    k, u = statistics.median(medians["known"]), statistics.median(medians["unknown"])
    assert abs(k - u) / max(k, u) < 0.25, (k, u)  # old code: 53.8 ms against 1.9 ms
    assert sample("edge_api_auth_checks_total", outcome="failed") - failed == 18  # a hash for unknown ids too


def test_healthz_answers_fast_while_64_bad_requests_run(live: LiveServer, real_cost: dict[str, str]) -> None:
    bad = [wrong_secret(real_cost["viewer"]) for _ in range(32)] + [unknown_kid() for _ in range(32)]
    latencies: list[float] = []
    attacker = Attacker(live.url, bad)
    with httpx.Client(base_url=live.url, timeout=10) as http:
        http.get("/healthz")
        attacker.go()
        started = time.monotonic()
        while attacker.running() or time.monotonic() - started < 1.0:  # the burst, and at least 1 s
            t0 = time.monotonic()
            assert http.get("/healthz").status_code == 200
            latencies.append(time.monotonic() - t0)
            time.sleep(0.02)
    codes = attacker.codes()
    assert len(codes) == 64 and set(codes) <= {401, 429, 503}, codes
    assert len(latencies) >= 5
    p95 = statistics.quantiles(latencies, n=20)[-1]
    assert p95 < HEALTHZ_BAR_S and max(latencies) < HEALTHZ_WORST_S, (p95, sorted(latencies)[-5:], len(latencies))


def test_a_revoked_tokens_stream_ends_and_others_go_on(live: LiveServer, site: Site) -> None:
    path = site.config.api.tokens_file
    assert isinstance(path, Path)
    revoked = sample("edge_api_streams_revoked_total")
    with httpx.Client(base_url=live.url, timeout=httpx.Timeout(5, read=REVOKE_BAR_S + 3)) as http:
        with (
            http.stream("GET", "/api/v1/stream", headers=bearer(site.tokens["viewer"])) as doomed,
            http.stream("GET", "/api/v1/stream", headers=bearer(site.tokens["operator"])) as other,
        ):
            doomed_frames, other_frames = frames(doomed.iter_lines()), frames(other.iter_lines())
            assert next(doomed_frames)["retry"] and next(doomed_frames)["event"] == "hello"
            assert next(other_frames)["retry"] and next(other_frames)["event"] == "hello"
            t0 = time.monotonic()
            assert revoke_token(path, "viewer-duty")
            last = next(doomed_frames)
            assert last["event"] == "revoked"
            assert next(doomed_frames, None) is None  # the response ended (old code: read timeout)
            assert time.monotonic() - t0 < REVOKE_BAR_S
            assert http.get(STATUS, headers=bearer(site.tokens["operator"])).status_code == 200
            assert not other.is_closed
        assert http.get("/api/v1/stream", headers=bearer(site.tokens["viewer"])).status_code == 401
    assert sample("edge_api_streams_revoked_total") - revoked == 1
