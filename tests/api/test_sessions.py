"""People's logins against a real uvicorn server: cookie flags, CSRF on writes, roles, audit by name,
logout ending the live stream, a disabled account, failed logins slowed but never locking out a right
password; the idle time-out and kiosk lifetime as pure logic."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from edge.api.sessions import COOKIE, SessionStore
from edge.api.tokens import Role
from edge.api.users import add_user, set_disabled
from tests.api.live import LiveServer
from tests.api.site import Site

FAST = 2**10  # scrypt n for test accounts (the real cost would add ~80 ms per login)
PASSWORDS = {
    "张三": ("guard", "zhangsan-pass-1"),
    "李四": ("operator", "lisi-pass-22"),
    "王五": ("technician", "wangwu-pass-333"),
}


@pytest.fixture
def live(site: Site) -> Iterator[LiveServer]:
    path = site.config.api.users_path
    assert path is not None
    for name, (role, password) in PASSWORDS.items():
        add_user(path, name, Role.parse(role), password, cost=FAST)
    with LiveServer(site.state) as server:
        yield server


def _login(live: LiveServer, name: str, password: str | None = None, kiosk: bool = False) -> httpx.Client:
    client = httpx.Client(base_url=live.url, timeout=10)
    r = client.post(
        "/api/v1/session", json={"username": name, "password": password or PASSWORDS[name][1], "kiosk": kiosk}
    )
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf"]
    return client


def test_cookie_csrf_roles_and_audit(live: LiveServer, site: Site) -> None:
    c = httpx.Client(base_url=live.url, timeout=10)
    r = c.post("/api/v1/session", json={"username": "李四", "password": PASSWORDS["李四"][1]})
    assert r.status_code == 200 and r.json()["role"] == "operator" and r.json()["idle_timeout_s"] == 1800
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age" not in cookie and "Path=/" in cookie  # not a kiosk: ends with the browser
    me = c.get("/api/v1/me").json()
    assert me == {"name": "李四", "role": "operator", "via": "session", "csrf": r.json()["csrf"]}

    alarm = site.alarm_ids[0]  # acknowledged in the site; close it as the operator
    assert c.post(f"/api/v1/alarms/{alarm}/close", json={"reason": "测试"}).status_code == 403  # no CSRF header
    wrong = c.post(f"/api/v1/alarms/{alarm}/close", json={"reason": "测试"}, headers={"X-CSRF-Token": "x" * 32})
    assert wrong.status_code == 403 and "CSRF" in wrong.text
    ok = c.post(f"/api/v1/alarms/{alarm}/close", json={"reason": "已处理"}, headers={"X-CSRF-Token": me["csrf"]})
    assert ok.status_code == 200, ok.text
    audit = site.db.query("SELECT actor, action FROM audit WHERE target = ? ORDER BY seq DESC LIMIT 1", (alarm,))
    assert audit == [{"actor": "李四", "action": "alarm.close"}]
    logins = site.db.query("SELECT actor FROM audit WHERE action = 'session.login'")
    assert {"actor": "李四"} in logins

    guard = _login(live, "张三")
    assert guard.post(f"/api/v1/alarms/{site.alarm_ids[1]}/ack", json={"note": ""}).status_code == 403  # role
    assert site.db.query("SELECT COUNT(*) AS n FROM sessions")[0]["n"] == 2
    row = site.db.query("SELECT * FROM sessions LIMIT 1")[0]
    assert c.cookies[COOKIE] not in str(row)  # only its hash is stored


def test_logout_ends_the_stream_and_the_cookie(live: LiveServer) -> None:
    c = _login(live, "王五", kiosk=True)
    ended = threading.Event()

    def watch() -> None:
        with (
            httpx.Client(base_url=live.url, cookies=c.cookies, timeout=30) as s,
            s.stream("GET", "/api/v1/stream") as r,
        ):
            for line in r.iter_lines():
                if line.startswith("event: revoked"):
                    ended.set()
                    return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.5)
    old = dict(c.cookies)
    assert c.delete("/api/v1/session").status_code == 204
    assert ended.wait(5), "the stream of a logged-out session kept running"
    assert httpx.get(live.url + "/api/v1/me", cookies=old).status_code == 401


def test_kiosk_cookie_persists(live: LiveServer) -> None:
    r = httpx.post(
        live.url + "/api/v1/session", json={"username": "张三", "password": PASSWORDS["张三"][1], "kiosk": True}
    )
    assert "Max-Age=2592000" in r.headers["set-cookie"]  # 30 days: survives a browser restart


def test_disabled_account_is_out_at_once(live: LiveServer, site: Site) -> None:
    c = _login(live, "张三")
    assert c.get("/api/v1/me").status_code == 200
    path = site.config.api.users_path
    assert path is not None
    set_disabled(path, "张三", True)
    assert c.get("/api/v1/me").status_code == 401
    assert (
        httpx.post(
            live.url + "/api/v1/session", json={"username": "张三", "password": PASSWORDS["张三"][1]}
        ).status_code
        == 401
    )


def test_failed_logins_slow_down_but_never_lock_out_a_right_password(live: LiveServer) -> None:
    url = live.url + "/api/v1/session"
    started = time.monotonic()
    for _ in range(8):
        bad = httpx.post(url, json={"username": "张三", "password": "wrong-password"}, timeout=20)
        assert bad.status_code in (401, 429)
    assert time.monotonic() - started > 8 * 0.1  # every failure costs at least the failure floor
    # the same account with its right password, from the same address: late but let in
    r = httpx.post(url, json={"username": "张三", "password": PASSWORDS["张三"][1]}, timeout=20)
    assert r.status_code == 200, r.text
    # another person behind the same address is not held back by 张三's failures on the account budget
    quick = time.monotonic()
    assert httpx.post(url, json={"username": "李四", "password": PASSWORDS["李四"][1]}, timeout=20).status_code == 200
    assert time.monotonic() - quick < 3.0


def test_unknown_and_known_names_fail_alike(live: LiveServer) -> None:
    url = live.url + "/api/v1/session"

    def timed(name: str) -> float:
        t0 = time.monotonic()
        assert httpx.post(url, json={"username": name, "password": "nope-nope-nope"}).status_code == 401
        return time.monotonic() - t0

    known = sorted(timed("李四") for _ in range(3))[1]
    unknown = sorted(timed(f"nobody{i}") for i in range(3))[1]
    assert abs(known - unknown) < 0.05, (known, unknown)


def test_idle_timeout_and_kiosk_lifetime() -> None:
    store = SessionStore(idle_ms=1000, kiosk_ms=10_000)
    sid, _ = store.create("张三", kiosk=False, now_ms=0, source="")
    kid, _ = store.create("值班屏", kiosk=True, now_ms=0, source="")
    assert store.get(sid, 900) is not None  # used: the idle clock restarts
    assert store.get(sid, 1800) is not None
    assert store.get(sid, 2900) is None  # 1.1 s unused
    assert store.get(kid, 9000) is not None and store.get(kid, 20_000) is None
    assert set(store.take_dirty()) == set()  # expired sessions leave nothing to write
