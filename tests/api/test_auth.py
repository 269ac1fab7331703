"""Every route, without a token, with a bad one, and with a token of each role."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from edge.api import ratelimit
from edge.api.app import create_app
from edge.api.ratelimit import FailureLimiter
from edge.api.tokens import Role, load_entries, revoke_token
from tests.api.conftest import bearer
from tests.api.site import SCRAPE_TOKEN, Site

A = "/api/v1"
# (method, path, lowest role allowed, json body). {alarm} is filled with a real alarm id.
ROUTES: list[tuple[str, str, Role, dict[str, object] | None]] = [
    ("GET", f"{A}/status", Role.VIEWER, None),
    ("GET", f"{A}/summary", Role.VIEWER, None),
    ("GET", f"{A}/me", Role.VIEWER, None),
    ("GET", f"{A}/devices", Role.VIEWER, None),
    ("GET", f"{A}/devices/cam-gate", Role.VIEWER, None),
    ("GET", f"{A}/alarms", Role.VIEWER, None),
    ("GET", f"{A}/alarms/{{alarm}}", Role.VIEWER, None),
    ("POST", f"{A}/alarms/{{alarm}}/ack", Role.OPERATOR, {"note": "x"}),
    ("POST", f"{A}/alarms/{{alarm}}/close", Role.OPERATOR, {"reason": "test over"}),
    ("GET", f"{A}/events", Role.VIEWER, None),
    ("GET", f"{A}/cameras/cam-gate/snapshot", Role.VIEWER, None),
    ("POST", f"{A}/devices/gate-north/maintenance", Role.TECHNICIAN, {"minutes": 10}),
    ("DELETE", f"{A}/devices/gate-north/maintenance", Role.TECHNICIAN, None),
    ("GET", f"{A}/metrics", Role.VIEWER, None),
    ("GET", f"{A}/stream", Role.VIEWER, None),  # allowed roles are exercised against a real server in test_sse
]
NOT_STREAMED = [r for r in ROUTES if not r[1].endswith("/stream")]


def _call(client: TestClient, site: Site, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    path = path.replace("{alarm}", site.alarm_ids[0])
    return int(client.request(method, path, json=body, headers=headers).status_code)


def _methods(route: APIRoute) -> set[str]:
    assert route.methods is not None, route.path
    return route.methods


def test_the_table_covers_every_api_route(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    declared = {
        (m, r.path) for r in app.routes if isinstance(r, APIRoute) and r.path.startswith(A) for m in _methods(r)
    }
    table = {(m, p.replace("{alarm}", "{alarm_id}")) for m, p, _, _ in ROUTES}
    normalised = {(m, p.replace("cam-gate", "{camera_id}")) for m, p in table if "cameras" in p}
    normalised |= {(m, p.replace("cam-gate", "{device_id}").replace("gate-north", "{device_id}")) for m, p in table}
    assert declared <= normalised, declared - normalised


@pytest.mark.parametrize(("method", "path", "role", "body"), ROUTES)
def test_no_token_or_bad_token_is_401(
    client: TestClient, site: Site, method: str, path: str, role: Role, body: object
) -> None:
    assert _call(client, site, method, path, body, {}) == 401
    assert _call(client, site, method, path, body, bearer("edge_nope_nope")) == 401
    assert _call(client, site, method, path, body, {"Authorization": "Basic dXNlcjpwdw=="}) == 401
    wrong = site.tokens["admin"][:-2] + ("AA" if not site.tokens["admin"].endswith("AA") else "BB")
    assert _call(client, site, method, path, body, bearer(wrong)) == 401


@pytest.mark.parametrize(("method", "path", "role", "body"), NOT_STREAMED)
@pytest.mark.parametrize("who", list(Role))
def test_each_role(client: TestClient, site: Site, method: str, path: str, role: Role, body: object, who: Role) -> None:
    code = _call(client, site, method, path, body, bearer(site.tokens[who.label]))
    if who < role:
        assert code == 403
    else:
        assert code in (200, 409), code  # 409: the alarm was already acknowledged or closed


def test_scrape_token_reads_metrics_only(client: TestClient, site: Site) -> None:
    assert client.get(f"{A}/metrics", headers=bearer(SCRAPE_TOKEN)).status_code == 200
    assert client.get(f"{A}/status", headers=bearer(SCRAPE_TOKEN)).status_code == 401


def test_public_routes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True, "store": "ok"}
    assert client.get("/").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    docs = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_failed_auth_is_logged_without_the_token_and_good_tokens_still_work(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.state.auth_limiter = FailureLimiter(slow_interval_s=0.02)  # the slow lane, quick enough for a test
    client = TestClient(create_app(site.state))
    kid = site.tokens["admin"].split("_")[1]
    secret = f"edge_{kid}_ThisIsNotARealSecretButLooksLikeOne"
    with caplog.at_level(logging.DEBUG):
        codes = [client.get(f"{A}/status", headers=bearer(secret)).status_code for _ in range(25)]
    assert codes == [401] * 25  # one at a time, past the budget: delayed, not refused
    assert client.get(f"{A}/status", headers=bearer(site.tokens["admin"])).status_code == 200
    assert "api-auth" in caplog.text
    assert "ThisIsNotARealSecret" not in caplog.text


def test_revoked_token_stops_working(client: TestClient, site: Site) -> None:
    assert client.get(f"{A}/status", headers=bearer(site.tokens["viewer"])).status_code == 200
    assert site.config.api.tokens_file is not None
    assert revoke_token(site.config.api.tokens_file, "viewer-duty")
    assert client.get(f"{A}/status", headers=bearer(site.tokens["viewer"])).status_code == 401


def test_no_secret_appears_in_any_response(client: TestClient, site: Site) -> None:
    """Config-derived secrets (token hashes, the scrape token, key paths' contents) are never returned."""
    assert site.config.api.tokens_file is not None
    entries = load_entries(site.config.api.tokens_file)
    hidden = [SCRAPE_TOKEN] + [str(e[k]) for e in entries for k in ("hash", "salt")]
    assert len(hidden) == 1 + 2 * len(Role)  # the scrape token, and a hash and salt per role's token
    h = bearer(site.tokens["admin"])
    bodies = [client.get(f"{A}/{p}", headers=h).text for p in ("status", "devices", "alarms", "events", "summary")]
    bodies.append(client.get("/openapi.json").text)
    for body in bodies:
        for secret in hidden:
            assert secret not in body


def test_me(client: TestClient, site: Site) -> None:
    for role in Role:
        assert client.get(f"{A}/me", headers=bearer(site.tokens[role.label])).json() == {
            "name": f"{role.label}-duty", "role": role.label, "via": "token", "csrf": None
        }  # fmt: skip


def test_failure_limiter_budget_then_slow_lane() -> None:
    limiter = FailureLimiter(limit=2, window_s=0.3, slow_interval_s=0.1, slow_queue=2)
    a, b = "10.0.0.1", "10.0.0.2"
    assert limiter.admit(a) == 0 and limiter.admit(a) == 0  # within budget (in flight counts)
    first = limiter.admit(a)
    assert first is not None and first <= 0.1  # over budget: the slow lane
    second, third = limiter.admit(a), limiter.admit(a)
    assert second is not None and 0.05 < second <= 0.2 and third is not None and third <= 0.3
    assert limiter.admit(a) is None  # the lane is full: refused
    assert limiter.retry_after(a) > 0
    assert limiter.admit(b) == 0  # per address
    for _ in range(5):
        limiter.done(a, failed=True)
    assert limiter.failures(a) == 5
    time.sleep(0.65)
    assert limiter.failures(a) == 0 and limiter.admit(a) == 0  # old failures age out


def test_failure_limiter_memory_is_bounded() -> None:
    limiter = FailureLimiter(limit=1)
    for i in range(ratelimit.MAX_TRACKED + 50):
        addr = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        assert limiter.admit(addr) == 0
        limiter.done(addr, failed=True)
    assert len(limiter._sources) <= ratelimit.MAX_TRACKED
