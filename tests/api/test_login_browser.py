"""People logging in to the alarm centre in Debian's chromium: name and password, a reload keeps the
login, logout, the idle time-out back to the login page, a write without the CSRF token refused, and a
guard who does not get an operator's buttons (nor can use them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from edge.api.sessions import SessionStore
from edge.api.tokens import Role
from edge.api.users import add_user
from edge.events import Event, EventKind
from edge.runtime import Runtime
from tests.api.live import LiveServer
from tests.api.site import Site

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "login"
IDLE_MS = 4000


@pytest.fixture
def live(site: Site) -> Iterator[LiveServer]:
    path = site.config.api.users_path
    assert path is not None
    add_user(path, "李四", Role.OPERATOR, "lisi-pass-22", cost=2**10)
    add_user(path, "张三", Role.GUARD, "zhangsan-pass-1", cost=2**10)
    site.state.sessions = SessionStore(idle_ms=IDLE_MS, kiosk_ms=3_600_000)  # a short idle time-out to watch
    with LiveServer(site.state) as server:
        runtime = site.state.runtime
        assert isinstance(runtime, Runtime)
        server.call(runtime.emit(Event(EventKind.ALARM_PRESS, "gate-north", {"input": "discrete_input:0"})))
        yield server


def _login(page: Page, live: LiveServer, name: str, password: str, kiosk: bool = False) -> None:
    page.goto(live.url + "/")
    page.fill("#username", name)
    page.fill("#password", password)
    if kiosk:
        page.check("#kiosk")
    page.click("#login-btn")
    expect(page.locator("#app")).to_be_visible()


def test_login_reload_logout_and_idle(browser: Browser, live: LiveServer, site: Site) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.goto(live.url + "/")
    page.screenshot(path=str(SHOTS / "login.png"))
    page.fill("#username", "李四")
    page.fill("#password", "wrong-password")
    page.click("#login-btn")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    _login(page, live, "李四", "lisi-pass-22")
    expect(page.locator("#footer")).to_contain_text("李四 (operator)")
    cookie = next(c for c in ctx.cookies() if c["name"] == "edge_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # the page itself cannot read it
    page.reload()  # still logged in after a reload
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator(".alarm[data-state=open] .ack").first).to_be_visible()  # an operator may acknowledge

    # an acknowledgement from the page carries the CSRF token; the same request without it is refused
    status = page.evaluate(
        "fetch('/api/v1/alarms/' + document.querySelector('.alarm[data-state=open]').dataset.id + '/ack',"
        " {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)"
    )
    assert status == 403
    row = page.locator(".alarm[data-state=open]").first
    alarm_id = row.get_attribute("data-id")
    row.locator(".ack").click()
    page.click("#dialog-ok")
    expect(page.locator(f'.alarm[data-id="{alarm_id}"]')).to_have_attribute("data-state", "acknowledged")
    audit = site.db.query("SELECT actor FROM audit WHERE target = ? AND action = 'alarm.ack'", (alarm_id,))
    assert audit == [{"actor": "李四"}]  # the person, by name

    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    page.reload()
    expect(page.locator("#login")).to_be_visible()  # logged out for real, not only on screen

    # idle: no requests for longer than the time-out (the page is closed meanwhile) -> back at the login
    _login(page, live, "李四", "lisi-pass-22")
    page.goto("about:blank")
    page.wait_for_timeout(IDLE_MS + 1500)
    page.goto(live.url + "/")
    expect(page.locator("#login")).to_be_visible()
    page.screenshot(path=str(SHOTS / "after-idle.png"))


def test_a_guard_gets_no_operator_buttons(browser: Browser, live: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    _login(page, live, "张三", "zhangsan-pass-1", kiosk=True)
    expect(page.locator("#footer")).to_contain_text("张三 (guard)")
    expect(page.locator(".alarm").first).to_be_visible()
    expect(page.locator(".alarm .ack")).to_have_count(0)
    status = page.evaluate(
        "fetch('/api/v1/me').then(r => r.json()).then(me => fetch('/api/v1/alarms/' +"
        " document.querySelector('.alarm[data-state=open]').dataset.id + '/ack', {method: 'POST', headers:"
        " {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf}, body: '{}'})).then(r => r.status)"
    )
    assert status == 403  # the role, enforced by the server
    page.screenshot(path=str(SHOTS / "guard.png"))
