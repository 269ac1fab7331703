"""The duty-room alarm centre in Debian's chromium (playwright, never a downloaded browser) against a
real `edge run` daemon with real peers: mosquitto and MQTT buttons, an RS-485 button on the Modbus
simulator, a DC-09 receiver (tests.faults.site).

- a panic and a device fault arriving together: the panic on top in its own list with the siren
  repeating, the fault below in the quiet list with one chime; rows say what happened; the
  unacknowledged panic's escalation shows;
- the board's filters (problems only, building, floor) and natural floor order; the event history
  as sentences ("按钮1 按下报警 (输入 0)");
- the stale banner when the daemon is SIGSTOPped, and its clearing after SIGCONT;
- the sound bar after a reload under the browser's autoplay block, until sound is really armed.

Screenshots of each state go to artifacts/alarm-centre/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import AUTOPLAY
from tests.browser import async_chromium as chromium
from tests.faults.site import Site, SiteSpec

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "alarm-centre"
# Strict: each document needs its own touch, as after a kiosk reload or a browser that blocks autoplay.
GESTURE_REQUIRED = "--autoplay-policy=document-user-activation-required"
LOCATIONS = {"rs485-1": "教学楼二层", "mqtt-1": "教学楼十层", "mqtt-2": "教学楼一层", "mqtt-3": "宿舍楼"}
# The stale banner comes after STALE_AFTER_MS (5 s) of silence plus one /healthz poll (2 s) and its
# timeout (2.5 s); on a loaded 2-core box allow some more.
STALE_WITHIN_MS = 15_000


class CentreSite(Site):
    """The fault-injection site with buildings and floors in its locations."""

    def config(self) -> dict[str, Any]:
        doc = super().config()
        for b in doc["buttons"]:
            b["location"] = LOCATIONS.get(b["id"], b["location"])
        return doc


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[CentreSite]:
    # escalation after 3 s instead of 2 min, so the test sees an unacknowledged panic escalate
    s = CentreSite(tmp_path, SiteSpec(mqtt_buttons=3, serial_buttons=1, extra={"alarms": {"escalate_after": 3}}))
    await s.start()
    try:
        await s.start_daemon()
        for b in ("rs485-1", "mqtt-1", "mqtt-2", "mqtt-3"):
            await s.wait_device(b, "online")
        yield s
    finally:
        if s.daemon is not None and s.daemon.alive():
            os.kill(s.daemon.pid, signal.SIGCONT)  # a stopped daemon cannot shut down
        await s.stop()


async def _open(browser: Browser, site: Site) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(site.base + "/")
    await page.fill("#token", site.token)
    await page.click("#login-btn")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#live-dot")).to_have_class("dot live")
    return page, errors


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def _count(page: Page, name: str) -> int:
    return int(await page.evaluate(f"Number(document.body.dataset.{name} || 0)"))


async def test_panic_and_fault_together(site: CentreSite) -> None:
    async with chromium(AUTOPLAY) as browser:
        page, errors = await _open(browser, site)
        await expect(page.locator("#sound")).to_have_text("声音开")
        await expect(page.locator("#sound-bar")).to_be_hidden()

        # the panic, and right after it a newer device fault: a power cut at an MQTT button (its Will)
        serial = next(b for b in site.buttons if b.id == "rs485-1")
        site.serial_hold(serial, True)
        await asyncio.to_thread(site.mqtt["mqtt-2"].power_off)

        panic = page.locator("#alarm-list .alarm")
        fault = page.locator("#fault-list .alarm")
        await expect(panic).to_have_count(1, timeout=5000)
        await expect(fault).to_have_count(1, timeout=10_000)
        await expect(panic).to_have_attribute("data-priority", "1")
        await expect(panic.locator(".what")).to_have_text("按下报警")
        await expect(panic).to_contain_text("教学楼二层")
        await expect(panic).to_contain_text("紧急报警")
        await expect(fault).to_have_attribute("data-priority", "2")
        await expect(fault.locator(".what")).to_have_text("离线（设备断电或断网）")
        await expect(fault).to_contain_text("设备故障")
        await expect(fault).to_contain_text("按钮12")
        # the panic is on top, and the fault (newer) did not push it down
        panic_box, fault_box = await panic.bounding_box(), await fault.bounding_box()
        assert panic_box is not None and fault_box is not None
        assert panic_box["y"] + panic_box["height"] <= fault_box["y"]
        await expect(page.locator("#alarms")).to_have_class("alarms alerting")
        await expect(page.locator("#faults")).not_to_have_class("alerting")

        # different sounds: the siren repeats, the fault chimes once
        await expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(r"^([3-9]|\d\d+)$"), timeout=6000)
        await page.wait_for_timeout(1600)
        assert await _count(page, "beeps") >= 4
        assert await _count(page, "chimes") == 1
        # nobody acknowledged within alarms.escalate_after: the escalation shows on the row
        await expect(panic.locator(".tag.esc")).to_have_text("已升级 → 紧急", timeout=8000)
        await _shot(page, "panic-and-fault")

        # acknowledged: the siren stops; the fault stays in its list, silent
        await panic.locator("button.ack").click()
        await page.fill("#dialog-input", "已派人")
        await page.click("#dialog-ok")
        await expect(panic).to_have_attribute("data-state", "acknowledged", timeout=3000)
        beeps = await _count(page, "beeps")
        await page.wait_for_timeout(1800)
        assert await _count(page, "beeps") == beeps
        assert await _count(page, "chimes") == 1

        # the board: natural floor order, problems only, building and floor
        groups = page.locator("#board .group")
        await expect(groups).to_have_count(4)
        order = await groups.evaluate_all("gs => gs.map(g => g.dataset.location)")
        assert order == ["教学楼一层", "教学楼二层", "教学楼十层", "宿舍楼"], order  # 一 < 二 < 十; 教 (jiao) < 宿 (su)
        await page.check("#b-problems")
        await expect(page.locator("#board .tile")).to_have_count(1)
        await expect(page.locator("#board .tile")).to_have_attribute("data-id", "mqtt-2")
        await page.uncheck("#b-problems")
        await page.select_option("#b-building", "教学楼")
        await expect(page.locator("#b-floor option")).to_have_text(["全部楼层", "一层", "二层", "十层"])
        await page.select_option("#b-floor", "二层")
        await expect(page.locator("#board .tile")).to_have_count(1)
        await expect(page.locator("#board .tile")).to_have_attribute("data-id", "rs485-1")
        await _shot(page, "board-filtered")

        # the history in plain words
        press_row = page.locator("#event-rows tr", has_text="按钮1 按下报警")
        await expect(press_row.first).to_contain_text("按钮1 按下报警 (输入 0)", timeout=5000)
        await expect(page.locator("#event-rows")).not_to_contain_text("=")
        await expect(page.locator("#event-rows")).to_contain_text("按钮12 离线 (原因: 设备断电或断网)")
        assert not errors, errors


async def test_stale_banner_when_the_daemon_is_stopped(site: CentreSite) -> None:
    async with chromium(AUTOPLAY) as browser:
        page, errors = await _open(browser, site)
        await expect(page.locator("#stale-banner")).to_be_hidden()
        assert site.daemon is not None
        os.kill(site.daemon.pid, signal.SIGSTOP)
        try:
            await expect(page.locator("#stale-banner")).to_be_visible(timeout=STALE_WITHIN_MS)
            await expect(page.locator("#stale-banner")).to_contain_text("连接中断 / 数据未更新")
            await expect(page.locator("#stale-since")).to_contain_text("数据停留在")
            await expect(page.locator("body")).to_have_class("stale")
            await expect(page.locator("#live-dot")).to_have_class("dot down")  # the stream is open but silent
            grey = await page.evaluate("getComputedStyle(document.querySelector('main')).filter")
            assert "grayscale" in grey, grey
            await _shot(page, "stale")
        finally:
            os.kill(site.daemon.pid, signal.SIGCONT)
        await expect(page.locator("#stale-banner")).to_be_hidden(timeout=STALE_WITHIN_MS)
        await expect(page.locator("body")).not_to_have_class("stale")
        await expect(page.locator("#live-dot")).to_have_class("dot live")
        # fresh data really arrived: a press after the resume shows up
        await site.mqtt_press("mqtt-1")
        await expect(page.locator("#alarm-list .alarm")).to_have_count(1, timeout=5000)
        await _shot(page, "stale-cleared")
        assert not errors, errors


async def test_sound_bar_after_a_reload(site: CentreSite) -> None:
    async with chromium(GESTURE_REQUIRED) as browser:
        page, errors = await _open(browser, site)  # the login click is a gesture: sound is armed
        await expect(page.locator("#sound")).to_have_text("声音开")
        await site.mqtt_press("mqtt-1")
        await expect(page.locator("#alarm-list .alarm")).to_have_count(1, timeout=5000)
        await expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(r"^([2-9]|\d\d+)$"), timeout=4000)

        await page.reload()  # the kiosk reloads: the browser blocks sound until a touch
        await expect(page.locator("#alarm-list .alarm")).to_have_count(1, timeout=5000)
        bar = page.locator("#sound-bar")
        await expect(bar).to_be_visible()
        await expect(bar).to_have_text("点击启用声音 / click to enable sound")
        await expect(page.locator("#sound")).not_to_have_text("声音开")
        await expect(page.locator("#sound")).to_have_text("声音未启用")
        width = await bar.evaluate("b => b.getBoundingClientRect().width")
        assert width >= 1366 - 2, width  # full width
        await page.wait_for_timeout(2000)
        assert await _count(page, "beeps") == 0  # nothing claimed to play while the browser blocks it
        await _shot(page, "sound-bar")

        await bar.click()
        await expect(bar).to_be_hidden(timeout=3000)
        await expect(page.locator("#sound")).to_have_text("声音开")
        await expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(r"^([2-9]|\d\d+)$"), timeout=4000)
        await _shot(page, "sound-armed")

        # muted by the guard: says so, and no bar nags
        await page.click("#sound")
        await expect(page.locator("#sound")).to_have_text("声音关")
        await expect(bar).to_be_hidden()
        assert not errors, errors
