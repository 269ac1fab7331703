"""The dashboard in Debian's chromium (never a downloaded browser), driven by playwright.

Log in, see the board, a press committed through the real Runtime.emit makes an alarm appear
without reload within 2 s, acknowledge it, see it acknowledged, switch language, save a screenshot.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from edge.events import Event, EventKind
from edge.runtime import Runtime
from tests.api.live import LiveServer
from tests.api.site import Site

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


async def _press(site: Site, device: str) -> str:
    """A real press: the event through Runtime.emit, where the rule engine opens the alarm."""
    runtime = Runtime(site.config, site.db, site.state.hub)
    event = Event(kind=EventKind.ALARM_PRESS, device_id=device, payload={"input": "discrete_input:0"})
    await runtime.emit(event)
    rows = site.db.query("SELECT id FROM alarms WHERE event_id = ? AND category = 'alarm'", (event.id,))
    assert len(rows) == 1, rows
    return str(rows[0]["id"])


def _local(url: str, live: LiveServer) -> bool:
    """Served by the gateway (or a blob: URL the page made from a response it got from it)."""
    return url.startswith((live.url, f"blob:{live.url}", "data:"))


def _login(page: Page, live: LiveServer, token: str) -> None:
    page.goto(live.url + "/")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", token)
    page.click("#login-btn")
    expect(page.locator("#app")).to_be_visible()


def test_operator_flow(browser: Browser, live: LiveServer, site: Site) -> None:
    # what the relay's Relay.status() contributes in the daemon
    site.state.status_providers["police"] = lambda: {
        "receivers": [
            {"url": "dc09://127.0.0.1:12000", "role": "primary", "state": "up", "active": True,
             "last_ack_ms": 1795312984000},
            {"url": "dc09://127.0.0.1:12001", "role": "backup", "state": "unknown", "active": False},
        ]
    }  # fmt: skip
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []
    page.on("request", lambda r: None if _local(r.url, live) else outside.append(r.url))
    _login(page, live, site.tokens["operator"])

    # the board, grouped by location, with state colours and reasons
    expect(page.locator("#site-name")).to_have_text("第一实验小学")
    expect(page.locator(".tile[data-id=gate-north]")).to_have_class("tile offline")
    assert page.get_attribute(".tile[data-id=gate-north]", "title") == "无响应"
    expect(page.locator(".tile[data-id=dorm-a]")).to_have_class("tile maintenance")
    expect(page.locator(".cam[data-id=cam-gate] img.thumb")).to_be_visible()
    expect(page.locator(".cam[data-id=cam-play]")).to_contain_text("模糊")
    expect(page.locator("#police-queue")).to_have_text("1")
    expect(page.locator("#police-state")).to_have_text("正常")
    expect(page.locator("#police-links li").first).to_contain_text("主用 ★ dc09://127.0.0.1:12000 · 正常")
    expect(page.locator("#police-links li").first).to_contain_text("2026/11/22 10:03:04")  # site zone: Asia/Shanghai
    expect(page.locator("#event-rows tr").first).to_be_visible()
    expect(page.locator("#live-dot")).to_have_class("dot live")

    # a press appears without reload within 2 s and flashes
    page.evaluate("window.__marker = 1")
    started = time.monotonic()
    alarm_id = live.call(_press(site, "gate-north"))
    row = page.locator(f'.alarm[data-id="{alarm_id}"]')
    expect(row).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 2.0
    assert page.evaluate("window.__marker") == 1  # same page: no reload
    expect(row).to_have_attribute("data-state", "open")
    expect(page.locator("#alarms")).to_have_class("alarms alerting")
    expect(row).to_contain_text("北门岗亭")
    expect(row).to_contain_text("北门一键报警")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert page.evaluate("document.querySelector('#alarms').classList.contains('alerting')")
    # the audible alert: a WebAudio beep repeats while the alarm is open
    # (polled from here: the page's CSP forbids the eval that wait_for_function needs)
    expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(r"^([2-9]|\d\d+)$"), timeout=4000)

    # acknowledge with a note
    row.locator("button.ack").click()
    expect(page.locator("#dialog")).to_be_visible()
    page.fill("#dialog-input", "已派保安前往北门")
    page.click("#dialog-ok")
    expect(row).to_have_attribute("data-state", "acknowledged", timeout=2000)
    expect(row).to_contain_text("operator-duty")
    expect(page.locator("#alarms")).not_to_have_class("alarms alerting")
    beeps = page.evaluate("Number(document.body.dataset.beeps)")
    page.wait_for_timeout(1800)  # longer than the beep period: no more beeps once acknowledged
    assert page.evaluate("Number(document.body.dataset.beeps)") == beeps
    audit = site.db.query("SELECT actor, action, detail FROM audit WHERE target = ?", (alarm_id,))
    assert [(a["actor"], a["action"]) for a in audit] == [("operator-duty", "alarm.ack")]
    assert "已派保安前往北门" in audit[0]["detail"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-acknowledged.png"), full_page=True)

    # switch language
    page.click("#lang")
    expect(page.locator("[data-i18n=panics]")).to_have_text("Panic alarms")
    expect(row.locator(".badge")).to_have_text("acknowledged")
    expect(page.locator(".tile[data-id=gate-north] .s")).to_contain_text("Button · ")
    expect(page.locator("#legend .chip.offline")).to_have_text("offline")
    page.click("#lang")
    expect(page.locator("[data-i18n=panics]")).to_have_text("紧急报警")

    # the token stays in sessionStorage only
    assert page.evaluate("sessionStorage.getItem('edge.token')") == site.tokens["operator"]
    assert page.evaluate("localStorage.getItem('edge.token')") is None
    assert not errors, errors
    assert not outside, outside  # nothing is loaded from outside the gateway
    context.close()


def test_phone_layout_and_bad_token(browser: Browser, live: LiveServer, site: Site) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live.url + "/")
    page.fill("#token", "edge_wrong_token")
    page.click("#login-btn")
    expect(page.locator("#login-error")).to_have_text("令牌无效或权限不足")
    page.fill("#token", site.tokens["viewer"])
    page.click("#login-btn")
    expect(page.locator(".tile[data-id=gate-north]")).to_be_visible()
    expect(page.locator(".alarm")).to_have_count(1)
    expect(page.locator(".alarm button")).to_have_count(0)  # a viewer cannot acknowledge or reset
    expect(page.locator("#event-rows tr").nth(5)).to_be_visible()  # the widest part, the history, is rendered
    width = page.evaluate("Math.max(window.innerWidth, document.documentElement.scrollWidth)")
    assert width <= 390, f"page scrolls sideways on a phone: {width}px"
    page.tap(".tile[data-id=gate-north]")
    expect(page.locator(".tile[data-id=gate-north] .r")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    context.close()


def test_docs_work_offline(browser: Browser, live: LiveServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if _local(r.url, live) else outside.append(r.url))
    page.goto(live.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("edge")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert not outside, outside
    context.close()
