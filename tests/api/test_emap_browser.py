"""The e-map in Debian's chromium: a technician uploads two floor plans and places a button by picking
it and clicking the map, then drags it; a panic on that button opens its floor and flashes its marker;
a viewer sees the map but no editing tools."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from edge.events import Event, EventKind
from edge.runtime import Runtime
from tests.api.live import LiveServer
from tests.api.site import Site
from tests.api.test_emap import plan_png

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "emap"


def _login(page: Page, live: LiveServer, token: str) -> None:
    page.goto(live.url + "/")
    page.fill("#token", token)
    page.click("#login-btn")
    expect(page.locator("#app")).to_be_visible()


def _upload(page: Page, tmp: Path, name: str) -> None:
    path = tmp / f"{name}.png"
    path.write_bytes(plan_png(label="FLOOR PLAN"))
    page.fill("#emap-name", name)
    page.set_input_files("#emap-file", str(path))
    page.click("#emap-upload button[type=submit]")
    expect(page.locator("#emap-tabs .tab.on")).to_have_text(name)


def test_technician_places_a_button_and_a_panic_opens_its_floor(
    browser: Browser, live: LiveServer, site: Site, tmp_path: Path
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, live, site.tokens["technician"])
    expect(page.locator("#emap")).to_be_visible()
    _upload(page, tmp_path, "教学楼一层")
    _upload(page, tmp_path, "宿舍楼")

    page.click("#emap-tabs .tab >> text=教学楼一层")
    page.check("#emap-edit")
    page.select_option("#emap-device", "gate-north")
    stage = page.locator("#emap-stage img")
    expect(stage).to_have_js_property("naturalWidth", 800)  # the plan itself, not a broken-image icon
    box = stage.bounding_box()
    assert box is not None and box["width"] > 400
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    marker = page.locator('.marker[data-id="gate-north"]')
    expect(marker).to_be_visible()
    # drag it to the right; the new position is stored
    m = marker.bounding_box()
    assert m is not None
    page.mouse.move(m["x"] + m["width"] / 2, m["y"] + m["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.4, steps=5)
    page.mouse.up()
    page.wait_for_timeout(500)
    (row,) = site.db.query("SELECT x, y FROM map_positions WHERE device_id = 'gate-north'")
    assert abs(row["x"] - 0.7) < 0.03 and abs(row["y"] - 0.4) < 0.03
    page.uncheck("#emap-edit")

    # the guard looks at the other floor; a panic at gate-north brings its floor up, flashing
    page.click("#emap-tabs .tab >> text=宿舍楼")
    runtime = site.state.runtime
    assert isinstance(runtime, Runtime)
    live.call(runtime.emit(Event(EventKind.ALARM_PRESS, "gate-north", {"input": "discrete_input:0"})))
    expect(page.locator("#emap-tabs .tab.on")).to_have_text("教学楼一层", timeout=3000)
    expect(page.locator('.marker.panic[data-id="gate-north"]')).to_be_visible()
    expect(page.locator("#emap-tabs .tab.alarm")).to_have_text("教学楼一层")
    expect(page.locator("#emap-stage img")).to_have_js_property("naturalWidth", 800)
    page.locator("#emap").screenshot(path=str(SHOTS / "panic-on-map.png"))
    assert errors == []

    viewer = browser.new_page()
    _login(viewer, live, site.tokens["viewer"])
    expect(viewer.locator('.marker.panic[data-id="gate-north"]')).to_be_visible()
    expect(viewer.locator("#emap-tools")).to_be_hidden()
