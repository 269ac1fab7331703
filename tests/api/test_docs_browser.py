"""/docs in a real browser under the common header policy: Swagger UI renders, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.api.live import LiveServer
from tests.api.site import Site


@pytest.mark.parametrize("path", ["/docs", "/", "/static/index.html", "/patrol/scan"])
def test_pages_load_without_csp_violations(browser: Browser, site: Site, path: str) -> None:
    with LiveServer(site.state) as live:
        page = browser.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(live.url + path)
        if path == "/docs":
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("edge", timeout=10_000)
            expect(page.locator(".opblock").first).to_be_visible()
        else:
            page.wait_for_load_state("networkidle")
        page.close()
        assert violations == []
