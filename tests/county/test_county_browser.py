"""The county dashboard in a real browser (Debian's chromium) against a live `edge county` and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from edge.sim.county import SimCounty
from tests.browser import ARGS, CHROMIUM
from tests.county.county_proc import CountyProc
from tests.county.school import wait_for
from tests.peers.mosquitto import Mosquitto
from tests.peers.postgres import Postgres, pg_bin

pytestmark = pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed")


def test_dashboard_login_schools_and_open_alarm(tmp_path: Path) -> None:
    broker, pg = Mosquitto(tmp_path / "broker"), Postgres()
    county: CountyProc | None = None
    sim: SimCounty | None = None
    try:
        broker.start()
        pg.start()
        county = CountyProc(tmp_path, broker.url, pg.dsn).start()
        sim = SimCounty(broker.url, schools=5, devices=10)
        sim.publish_state()
        sim.schools[2].press()
        sim.schools[2].publish_state(open_alarms=1)
        wait_for(lambda: len(county.get("/api/v1/schools")["schools"]) == 5, what="5 schools stored")
        wait_for(lambda: county.get("/api/v1/schools")["totals"]["open_alarms"] == 1, what="the open alarm")
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = b.new_page()
            page.goto(f"http://127.0.0.1:{county.port}/")
            page.fill("#token", "edge_wrong_token")
            page.click("#login button[type=submit]")
            expect(page.locator("#login-error")).to_have_text("令牌无效")
            page.fill("#token", county.token)
            page.click("#login button[type=submit]")
            expect(page.locator("#rows tr")).to_have_count(5)
            row = page.locator('#rows tr[data-school="sim-0002"]')
            expect(row).to_contain_text("模拟学校sim-0002")
            expect(row.locator(".bad").first).to_contain_text("1 起")
            expect(page.locator("#totals")).to_contain_text("未处理报警")
            expect(page.locator("#title")).to_contain_text("测试县教育局")
            b.close()
    finally:
        if sim is not None:
            sim.close()
        if county is not None:
            county.stop()
        pg.stop()
        broker.stop()
