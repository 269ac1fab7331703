"""Notices stay quiet (issue 14: a site must not beep from the moment it starts because of retention
flags), faults chime once, and both sit below the panics; in Debian's chromium via playwright."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from edge.events import Event, EventKind
from edge.runtime import Runtime
from tests.api.live import LiveServer
from tests.api.site import Site

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "alarm-centre"


def _emit(site: Site, live: LiveServer, event: Event) -> None:
    runtime = site.state.runtime
    assert isinstance(runtime, Runtime)
    live.call(runtime.emit(event))


def _count(page: Page, name: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{name} || 0)"))


def test_notices_never_sound_and_faults_chime_once(browser: Browser, live: LiveServer, site: Site) -> None:
    page = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
    page.goto(live.url + "/")
    page.fill("#token", site.tokens["operator"])
    page.click("#login-btn")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#live-dot")).to_have_class("dot live")

    retention = {"verdict": "short", "retained_days": 12.0, "required_days": 30, "shortfall_days": 18.0}
    _emit(site, live, Event(EventKind.CAMERA_RETENTION, "cam-dorm", retention))
    for _ in range(site.config.device_states.quality_failures):  # a quality flag needs consecutive failures
        _emit(site, live, Event(EventKind.CAMERA_QUALITY, "cam-play", {"verdict": "fail", "failures": ["blurred"]}))
    rows = page.locator("#fault-list .alarm")
    expect(rows).to_have_count(2, timeout=3000)
    expect(rows.first).to_have_attribute("data-priority", "3")
    expect(page.locator("#fault-list")).to_contain_text("录像保存不足")
    expect(page.locator("#fault-list")).to_contain_text("画质异常")
    expect(page.locator("#alarm-list .alarm")).to_have_count(1)  # only the acknowledged panic of the site
    page.wait_for_timeout(2000)
    assert _count(page, "beeps") == 0 and _count(page, "chimes") == 0  # notices are silent

    _emit(site, live, Event(EventKind.DEVICE_OFFLINE, "cam-gate", {"reason": "unreachable", "rounds": 3}))
    expect(rows).to_have_count(3, timeout=3000)
    expect(rows.first).to_have_attribute("data-priority", "2")  # a fault above the notices
    expect(rows.first.locator(".what")).to_have_text("离线（无法连接）")
    expect(page.locator("body")).to_have_attribute("data-chimes", "1", timeout=3000)
    page.wait_for_timeout(2000)
    assert _count(page, "chimes") == 1 and _count(page, "beeps") == 0
    expect(page.locator("#alarms")).not_to_have_class("alarms alerting")  # no panic flashing for faults
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "faults-and-notices.png"), full_page=True)

    page.click("#lang")  # English: the same rows, in words an English-speaking technician reads
    expect(rows.first.locator(".prio")).to_have_text("Device fault")
    expect(rows.first.locator(".what")).to_have_text("offline (unreachable)")
    expect(rows.nth(2).locator(".prio")).to_have_text("Notice")
    expect(page.locator("[data-i18n=faults]")).to_have_text("Device faults and notices")
    page.click("#lang")


def test_locations_sort_naturally_and_events_read_as_sentences(browser: Browser, live: LiveServer) -> None:
    page = browser.new_page()
    page.goto(live.url + "/")  # the login page loads the dashboard's scripts; nothing here needs a token
    order = page.evaluate(
        "['教学楼十二层', '教学楼二层', '教学楼地下一层', '教学楼十层', '教学楼一层', '教学楼', '1号楼3F', '1号楼B1']"
        ".sort(EdgeText.compareLocations)"
    )
    assert order == [
        "1号楼B1",
        "1号楼3F",
        "教学楼",
        "教学楼地下一层",
        "教学楼一层",
        "教学楼二层",
        "教学楼十层",
        "教学楼十二层",
    ]
    assert page.evaluate("EdgeText.place('行政楼二层')") == {"building": "行政楼", "floor": "二层"}
    assert page.evaluate("EdgeText.place('宿舍A')") == {"building": "宿舍A", "floor": ""}
    assert page.evaluate("EdgeText.place('三层')") == {"building": "三层", "floor": ""}  # a floor needs a building
    t = "(k, g) => g ? ((window.I18N.zh[g] || {})[k] || k) : (window.I18N.zh[k] || k)"
    cases = {
        '{"kind": "alarm.press", "payload": {"input": {"type": "discrete_input", "address": 0}}}': (
            "南门一键报警 按下报警 (输入 0)"
        ),
        '{"kind": "device.offline", "payload": {"reason": "heartbeat_timeout", "timeout_s": 30}}': (
            "南门一键报警 离线 (原因: 心跳超时)"
        ),
        '{"kind": "device.tamper", "payload": {"state": "restored"}}': "南门一键报警 防拆恢复",
        '{"kind": "camera.retention", "payload": {"verdict": "short", "retained_days": 12, "required_days": 90,'
        ' "shortfall_days": 78}}': "南门一键报警 录像核验 (不足, 12/90 天, 缺 78 天)",
    }
    for event, sentence in cases.items():
        assert page.evaluate(f"EdgeText.describe({event}, '南门一键报警', {t})") == sentence
    page.close()
