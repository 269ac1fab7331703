"""One security-header policy on every response of a real server: pages, static files, API, errors, docs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from edge.api.headers import ALWAYS, CSP
from tests.api.conftest import bearer
from tests.api.live import LiveServer
from tests.api.site import Site


@pytest.fixture
def http(site: Site) -> Iterator[httpx.Client]:
    with LiveServer(site.state) as live, httpx.Client(base_url=live.url, timeout=5) as client:
        yield client


def _policy(r: httpx.Response) -> None:
    assert r.headers["content-security-policy"], r.url
    for name, value in ALWAYS.items():
        assert r.headers.get(name) == value, (r.url, name)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "cache-control" in r.headers, r.url


def test_the_dashboard_file_has_the_same_csp_as_the_dashboard(http: httpx.Client) -> None:
    root, direct = http.get("/"), http.get("/static/index.html")
    assert root.status_code == direct.status_code == 200 and root.text == direct.text
    assert root.headers["content-security-policy"] == direct.headers["content-security-policy"] == CSP
    for r in (root, direct):
        _policy(r)
        assert r.headers["cache-control"] == "no-cache"


PUBLIC = ["/", "/static/index.html", "/static/app.js", "/static/app.css", "/healthz", "/openapi.json", "/docs",
          "/patrol/scan", "/docs-assets/swagger-ui-bundle.js", "/no-such-page", "/static/no-such-file.js"]  # fmt: skip
API = ["/status", "/devices", "/alarms", "/events", "/metrics", "/me", "/cameras/cam-gate/snapshot", "/nope"]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_and_errors(http: httpx.Client, path: str) -> None:
    _policy(http.get(path))


def test_api_answers_and_rejections_are_never_cached(http: httpx.Client, site: Site) -> None:
    for path in API:
        for headers in ({}, bearer("edge_0123456789ab_wrong"), bearer(site.tokens["viewer"])):
            r = http.get(f"/api/v1{path}", headers=headers)
            _policy(r)
            assert "no-store" in r.headers["cache-control"], (path, r.status_code)
    r = http.post("/api/v1/alarms/x/ack", json={"note": "x"}, headers=bearer(site.tokens["viewer"]))
    assert r.status_code == 403
    _policy(r)


def test_the_stream_has_the_policy(http: httpx.Client, site: Site) -> None:
    with http.stream("GET", "/api/v1/stream", headers=bearer(site.tokens["viewer"])) as r:
        assert r.status_code == 200
        _policy(r)
        assert r.headers["cache-control"] == "no-store"


def test_docs_allow_only_their_own_inline_script(http: httpx.Client) -> None:
    r = http.get("/docs")
    csp = r.headers["content-security-policy"]
    hashes = re.findall(r"'sha256-[A-Za-z0-9+/=]+'", csp)
    assert len(hashes) == 1 and "unsafe-inline" not in csp
    assert csp.replace(f" {hashes[0]}", "") == CSP  # otherwise the common policy
