"""The county dashboard in a real browser (Debian's chromium) against a live `edge county` and PostgreSQL:
a person of the bureau logs in with a name and password (accounts from `edge user add -c county.yaml`),
sees the schools, reloads, logs out; a token works too; a write without the CSRF token is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from edge.sim.county import SimCounty
from tests.browser import chromium
from tests.county.county_proc import CountyProc
from tests.county.school import wait_for
from tests.peers.mosquitto import Mosquitto
from tests.peers.postgres import Postgres, pg_bin

pytestmark = pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "county"


def test_dashboard_login_schools_logout_and_csrf(tmp_path: Path) -> None:
    broker, pg = Mosquitto(tmp_path / "broker"), Postgres()
    county: CountyProc | None = None
    sim: SimCounty | None = None
    try:
        broker.start()
        pg.start()
        county = CountyProc(tmp_path, broker.url, pg.dsn).start()
        county.add_user("王科长", "viewer", "wang-pass-2026")
        sim = SimCounty(broker.url, schools=5, devices=10)
        sim.publish_state()
        sim.schools[2].press()
        sim.schools[2].publish_state(open_alarms=1)
        wait_for(lambda: len(county.get("/api/v1/schools")["schools"]) == 5, what="5 schools stored")
        wait_for(lambda: county.get("/api/v1/schools")["totals"]["open_alarms"] == 1, what="the open alarm")
        SHOTS.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1:{county.port}/"
        with chromium() as b:
            ctx = b.new_context(viewport={"width": 1366, "height": 900})
            page = ctx.new_page()
            page.goto(url)
            page.fill("#username", "王科长")
            page.fill("#password", "wrong-password")
            page.click("#login-btn")
            expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
            page.fill("#password", "wang-pass-2026")
            page.click("#login-btn")
            expect(page.locator("#rows tr")).to_have_count(5)
            expect(page.locator("#who")).to_have_text("王科长 (viewer)")
            row = page.locator('#rows tr[data-school="sim-0002"]')
            expect(row).to_contain_text("模拟学校sim-0002")
            expect(row.locator(".bad").first).to_contain_text("1 起")
            expect(page.locator("#totals")).to_contain_text("未处理报警")
            expect(page.locator("#title")).to_contain_text("测试县教育局")
            page.screenshot(path=str(SHOTS / "dashboard.png"))
            cookie = next(c for c in ctx.cookies() if c["name"] == "edge_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert page.evaluate("document.cookie") == ""  # the page itself cannot read it

            page.reload()  # the login survives a reload
            expect(page.locator("#rows tr")).to_have_count(5)
            # The logout without the session's CSRF token is refused and changes nothing.
            assert page.evaluate("fetch('/api/v1/session', {method: 'DELETE'}).then(r => r.status)") == 403
            assert page.evaluate("fetch('/api/v1/schools').then(r => r.status)") == 200
            # The session is in PostgreSQL: another instance's API knows it (same cookie, other port).
            other = CountyProc(tmp_path, broker.url, pg.dsn, client_id="county-2").start()
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{other.port}/api/v1/me", cookies={"edge_session": cookie["value"]}, timeout=5
                )
                assert r.status_code == 200 and r.json()["name"] == "王科长"
                page.click("#logout")
                expect(page.locator("#login")).to_be_visible()
                r = httpx.get(
                    f"http://127.0.0.1:{other.port}/api/v1/me", cookies={"edge_session": cookie["value"]}, timeout=5
                )
                assert r.status_code == 401  # logged out everywhere
            finally:
                other.stop()
            page.reload()
            expect(page.locator("#login")).to_be_visible()  # logged out for real, not only on screen

            # A pasted API token works as well; a wrong one is refused.
            page.click("#login summary")
            page.fill("#token", "edge_wrong_token")
            page.click("#login-btn")
            expect(page.locator("#login-error")).to_have_text("令牌无效")
            if not page.locator("#token").is_visible():
                page.click("#login summary")
            page.fill("#token", county.token)
            page.click("#login-btn")
            expect(page.locator("#rows tr")).to_have_count(5)
            expect(page.locator("#who")).to_have_text("bureau (viewer)")
    finally:
        if sim is not None:
            sim.close()
        if county is not None:
            county.stop()
        pg.stop()
        broker.stop()
