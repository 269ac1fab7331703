"""End to end through `edge run` with real peers: press -> police + alarm -> ack -> release -> reset.

Each test uses its own button so the order of tests does not matter; the daemon and peers are shared.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from edge.api.tokens import Role
from tests.e2e.conftest import MQTT, SERIAL
from tests.e2e.site import ACCOUNT, Site, wait_until


def _audit(site: Site, target: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{site.tmp / 'edge.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT action, actor FROM audit WHERE target = ? ORDER BY ts_ms", (target,)).fetchall()
    finally:
        conn.close()
    return [(str(a), str(b)) for a, b in rows]


def _press(site: Site, button: str) -> None:
    if button in SERIAL:
        unit, inp, _ = SERIAL[button]
        site.peers.run(lambda: site.modbus.press(unit, inp))
    else:
        site.buttons[button].press()


def _release(site: Site, button: str) -> None:
    if button in SERIAL:
        unit, inp, _ = SERIAL[button]
        site.peers.run(lambda: site.modbus.release(unit, inp))
    else:
        site.buttons[button].release()


def _zone(button: str) -> int:
    return SERIAL[button][2] if button in SERIAL else MQTT[button]


@pytest.mark.parametrize("button", ["dorm-a", "gate-south"], ids=["mqtt", "rs485"])
def test_alarm_lifecycle(site: Site, button: str) -> None:
    zone = _zone(button)
    _press(site, button)
    got = site.wait_received(zone, 1)
    assert [(e.account, e.cid, e.zone, e.encrypted) for e in got] == [(ACCOUNT, "1120", zone, True)]
    alarm = wait_until(lambda: site.alarms(button, "open"), 3, "open alarm in the API")[0]
    assert (alarm["kind"], alarm["category"], alarm["zone"], alarm["test"]) == ("alarm.press", "alarm", zone, False)
    wait_until(lambda: site.alarms(button)[0]["relay"]["state"] == "delivered", 3, "relay delivered")

    # A viewer cannot acknowledge; the operator can, and it is audited.
    assert site.api("POST", f"/alarms/{alarm['id']}/ack", json={"note": "x"}).status_code == 403
    r = site.api("POST", f"/alarms/{alarm['id']}/ack", Role.OPERATOR, json={"note": "值班员已确认"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["acked_by"]) == ("acknowledged", "e2e-operator")

    _release(site, button)
    got = site.wait_received(zone, 2)
    assert [e.cid for e in got] == ["1120", "3120"]
    time.sleep(0.3)  # a release that wrongly closed the alarm would have done so by now
    assert site.alarms(button)[0]["state"] == "acknowledged"  # GB 50394: the release resets nothing

    r = site.api("POST", f"/alarms/{alarm['id']}/close", Role.OPERATOR, json={"reason": "误触，已复位"})
    assert r.status_code == 200, r.text
    closed = site.alarms(button)[0]
    assert (closed["state"], closed["close_reason"]) == ("closed", "误触，已复位")
    assert _audit(site, alarm["id"]) == [("alarm.ack", "e2e-operator"), ("alarm.close", "e2e-operator")]
    assert len(site.received(zone)) == 2  # closing is local: nothing more to the police


def test_maintenance_gives_test_reports_only(site: Site) -> None:
    button, zone = "dorm-b", MQTT["dorm-b"]
    assert site.api("POST", f"/devices/{button}/maintenance", Role.OPERATOR, json={"minutes": 5}).status_code == 403
    r = site.api("POST", f"/devices/{button}/maintenance", Role.TECHNICIAN, json={"minutes": 5})
    assert r.status_code == 200, r.text
    assert site.api("GET", f"/devices/{button}").json()["state"] == "maintenance"

    site.buttons[button].press()
    site.wait_received(zone, 1)
    site.buttons[button].release()
    time.sleep(0.5)  # anything else the press or release caused reaches the receiver well within this
    assert {e.cid for e in site.received(zone)} == {"1601"}
    assert not [a for a in site.alarms(button) if a["category"] == "alarm"]

    assert site.api("DELETE", f"/devices/{button}/maintenance", Role.TECHNICIAN).status_code == 200
    wait_until(lambda: site.api("GET", f"/devices/{button}").json()["state"] != "maintenance", 3, "maintenance over")
    n = len(site.received(zone))
    site.buttons[button].press()
    got = site.wait_received(zone, n + 1)
    assert got[-1].cid == "1120"
    assert wait_until(lambda: site.alarms(button, "open"), 3, "real alarm after maintenance")[0]["test"] is False


AFTER_HOURS_TAMPER: dict[str, Any] = {
    "name": "after-hours-tamper",
    "when": {"kind": "device.tamper", "type": "button", "time": {"from": "00:00", "to": "24:00"}},
    "then": {
        "flag": {"severity": "emergency", "message": "非教学时间防拆报警：{name}", "message_en": "After-hours tamper"},
        "escalate": {"after": "1m"},
    },
}


def test_reload_with_a_new_rule_keeps_the_open_alarm(site: Site) -> None:
    button, zone = "office", SERIAL["office"][2]
    unit, inp, _ = SERIAL[button]
    _press(site, button)
    site.wait_received(zone, 1)
    _release(site, button)
    site.wait_received(zone, 2)
    before = wait_until(lambda: site.alarms(button, "open"), 3, "open alarm")[0]

    site.write_config(site.config(rules=[AFTER_HOURS_TAMPER]))
    site.reload()
    assert site.api("GET", f"/alarms/{before['id']}").json()["state"] == "open"

    site.peers.run(lambda: site.modbus.set_tamper(unit, inp + 1, True))
    got = site.wait_received(zone, 3, timeout=8)
    assert [e.cid for e in got] == ["1120", "3120", "1137"]  # the default still relays the tamper
    flag = wait_until(lambda: [a for a in site.alarms(button) if a["kind"] == "device.tamper"], 3, "tamper flag")[0]
    assert (flag["severity"], flag["message"]) == ("emergency", "非教学时间防拆报警：串口按钮2")
    assert site.api("GET", f"/alarms/{before['id']}").json()["state"] == "open"  # still latched
    site.peers.run(lambda: site.modbus.set_tamper(unit, inp + 1, False))  # its restore waits out the hysteresis


def test_reload_with_a_shorter_escalate_after_applies_to_new_alarms(site: Site) -> None:
    site.buttons["library"].press()
    old = wait_until(lambda: site.alarms("library", "open"), 3, "open alarm")[0]
    assert old["severity"] == "critical"

    site.write_config(site.config(rules=[AFTER_HOURS_TAMPER], alarms={"escalate_after": "1s"}))
    site.reload()
    site.buttons["hall"].press()
    new = wait_until(lambda: site.alarms("hall", "open"), 3, "open alarm after the reload")[0]
    # The 1 s deadline passes and the rule clock (1 s tick) escalates one step: critical -> emergency.
    wait_until(lambda: site.alarms("hall")[0]["severity"] == "emergency", 5, "new alarm escalated")
    assert site.alarms("hall")[0]["id"] == new["id"]
    kept = site.api("GET", f"/alarms/{old['id']}").json()
    assert (kept["state"], kept["severity"]) == ("open", "critical")  # its 2 min deadline is not yet due


def test_reload_does_not_repeat_a_held_press(site: Site) -> None:
    """A reload rebuilds the bus driver; it starts from the levels the store recorded, not 'released'."""
    button, zone = "gate-north", SERIAL["gate-north"][2]
    _press(site, button)
    site.wait_received(zone, 1)
    site.write_config(site.config(rules=[AFTER_HOURS_TAMPER]))
    site.reload()
    time.sleep(1.5)  # the reopened bus has polled every unit several times by now
    try:
        assert [e.cid for e in site.received(zone)] == ["1120"]
    finally:
        _release(site, button)


def test_camera_with_short_retention_is_degraded(site: Site) -> None:
    def degraded() -> dict[str, Any] | None:
        d: dict[str, Any] = site.api("GET", "/devices/cam-gate").json()
        return d if d["checks"].get("retention") and d["state"] == "degraded" else None

    dev = wait_until(degraded, 20, "camera degraded by retention", step=0.2)
    assert dev["reasons"] == ["retention_short"]
    ret = dev["checks"]["retention"]
    assert ret["verdict"] == "short"
    assert ret["required_days"] == 30
    assert ret["retained_days"] == pytest.approx(10.0, abs=0.1)
    assert ret["shortfall_days"] == pytest.approx(20.0, abs=0.1)
