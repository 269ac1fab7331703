"""Route behaviour: shapes, pagination, filters, audited operator actions, snapshots, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from edge.runtime import Runtime
from edge.store.misc import get_snapshot
from tests.api.conftest import bearer
from tests.api.site import Site, press

A = "/api/v1"


def _audit(site: Site) -> list[dict[str, object]]:
    return site.db.query("SELECT actor, action, target, detail FROM audit ORDER BY seq")


def test_device_object_matches_the_contract(client: TestClient, site: Site) -> None:
    d = client.get(f"{A}/devices/cam-gate", headers=bearer(site.tokens["viewer"])).json()
    assert d["type"] == "camera" and d["state"] == "degraded" and d["reasons"] == ["retention_short"]
    assert d["since"].endswith("Z") and d["last_seen"].endswith("Z")
    ret = d["checks"]["retention"]
    assert (ret["verdict"], ret["retained_days"], ret["required_days"], ret["shortfall_days"]) == (
        "short",
        12.0,
        90,
        78,
    )
    assert d["checks"]["quality"]["verdict"] == "pass" and d["checks"]["clock"]["drift_s"] == 0.4
    maint = client.get(f"{A}/devices/dorm-a", headers=bearer(site.tokens["viewer"])).json()
    assert maint["state"] == "maintenance" and maint["maintenance_until"] is not None
    assert client.get(f"{A}/devices/nope", headers=bearer(site.tokens["viewer"])).status_code == 404
    cams = client.get(f"{A}/devices", params={"type": "camera"}, headers=bearer(site.tokens["viewer"])).json()
    assert sorted(c["id"] for c in cams) == ["cam-dorm", "cam-gate", "cam-play"]


def test_status(client: TestClient, site: Site) -> None:
    relay = {  # the shape of Relay.status()
        "receivers": [
            {"url": "dc09://127.0.0.1:12000", "state": "down", "reason": "timeout", "last_ack_ms": 1_700_000_000_000,
             "role": "primary", "active": False},
            {"url": "dc09://127.0.0.1:12001", "state": "up", "reason": "", "last_ack_ms": None, "role": "backup",
             "active": True},
        ],
        "active_receiver": "dc09://127.0.0.1:12001",
    }  # fmt: skip
    site.state.status_providers["police"] = lambda: relay
    site.state.status_providers["daemon"] = lambda: {"units": {"relay": "running"}}
    s = client.get(f"{A}/status", headers=bearer(site.tokens["viewer"])).json()
    assert s["site"]["id"] == "sch-0001" and s["store"]["ok"]
    assert s["devices"] == {"online": 5, "offline": 1, "maintenance": 1, "degraded": 2, "unknown": 1}
    assert s["alarms"] == {"open": 0, "acknowledged": 1}
    assert [a["id"] for a in s["open_alarms"]] == [site.alarm_ids[0]]
    p = s["police"]
    assert p["configured"] and p["receivers"] == 2 and p["outbox_depth"] == 1 and p["oldest_age_s"] >= 4
    assert p["last_ack_at"] is not None and p["link"] == relay and p["state"] == "up"
    assert [(x["role"], x["state"], x["active"]) for x in p["links"]] == [
        ("primary", "down", False),
        ("backup", "up", True),
    ]
    assert p["links"][0]["last_ack_at"] == "2023-11-14T22:13:20.000Z"
    assert s["providers"] == {"daemon": {"units": {"relay": "running"}}}


def test_alarm_pagination_and_filters(client: TestClient, site: Site) -> None:
    ids = [press(site.db, "gate-north", 2, "北门岗亭") for _ in range(7)]
    h = bearer(site.tokens["viewer"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{A}/alarms", params=params, headers=h).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9
    assert set(ids) <= set(seen) and seen[-1] == site.alarm_ids[1]  # newest first; the oldest is the test press
    opened = client.get(f"{A}/alarms", params={"state": "open", "limit": 100}, headers=h).json()["items"]
    assert {a["id"] for a in opened} == set(ids)
    closed = client.get(f"{A}/alarms", params={"state": "closed"}, headers=h).json()["items"]
    assert [(a["id"], a["closed_by"], a["close_reason"], a["test"]) for a in closed] == [
        (site.alarm_ids[1], "operator-duty", "测试完毕", True)
    ]
    acked = client.get(f"{A}/alarms/{site.alarm_ids[0]}", headers=h).json()
    relay = acked["relay"]
    assert (relay["state"], relay["receiver"], relay["attempts"]) == ("delivered", "dc09://127.0.0.1:12000", 1)
    assert relay["acked_at"].endswith("Z")
    assert client.get(f"{A}/alarms", params={"state": "bogus"}, headers=h).status_code == 422
    assert client.get(f"{A}/alarms", params={"cursor": "garbage"}, headers=h).status_code == 422
    assert client.get(f"{A}/alarms", params={"limit": 0}, headers=h).status_code == 422


def test_ack_and_close_are_audited_with_the_token_name(client: TestClient, site: Site) -> None:
    alarm = press(site.db, "gate-north", 2, "北门岗亭")
    op = bearer(site.tokens["operator"])
    r = client.post(f"{A}/alarms/{alarm}/ack", json={"note": "已派保安前往"}, headers=op)
    assert r.status_code == 200
    body = r.json()
    assert (body["state"], body["acked_by"], body["ack_note"]) == ("acknowledged", "operator-duty", "已派保安前往")
    assert client.post(f"{A}/alarms/{alarm}/ack", json={}, headers=op).status_code == 409
    assert client.post(f"{A}/alarms/{alarm}/close", json={"reason": ""}, headers=op).status_code == 422
    r = client.post(f"{A}/alarms/{alarm}/close", json={"reason": "误报，已复位"}, headers=bearer(site.tokens["admin"]))
    assert r.json()["state"] == "closed" and r.json()["closed_by"] == "admin-duty"
    assert client.post(f"{A}/alarms/{alarm}/close", json={"reason": "again"}, headers=op).status_code == 409
    assert client.post(f"{A}/alarms/nope/ack", json={}, headers=op).status_code == 404
    trail = [a for a in _audit(site) if a["target"] == alarm]
    assert [(a["actor"], a["action"]) for a in trail] == [("operator-duty", "alarm.ack"), ("admin-duty", "alarm.close")]
    # an ack with no body at all is allowed: the note is optional
    other = press(site.db, "canteen", 4, "食堂")
    assert client.post(f"{A}/alarms/{other}/ack", headers=op).json()["ack_note"] == ""


@pytest.mark.parametrize("with_runtime", [True, False])
def test_maintenance_on_and_off(client: TestClient, site: Site, with_runtime: bool) -> None:
    if with_runtime:  # as in the daemon: the rule engine applies it at once
        site.state.runtime = Runtime(site.config, site.db, site.state.hub)
    tech = bearer(site.tokens["technician"])
    r = client.post(f"{A}/devices/gate-north/maintenance", json={"minutes": 30}, headers=tech)
    assert r.status_code == 200, r.text
    assert r.json()["maintenance"] and r.json()["until"].endswith("Z")
    d = client.get(f"{A}/devices/gate-north", headers=tech).json()
    assert d["state"] == "maintenance" and d["maintenance_until"] == r.json()["until"]
    assert client.post(f"{A}/devices/gate-north/maintenance", json={"minutes": 0}, headers=tech).status_code == 422
    assert client.post(f"{A}/devices/gate-north/maintenance", json={"minutes": 600}, headers=tech).status_code == 422
    assert client.post(f"{A}/devices/nope/maintenance", json={"minutes": 5}, headers=tech).status_code == 404
    assert client.delete(f"{A}/devices/nope/maintenance", headers=tech).status_code == 404
    assert client.delete(f"{A}/devices/gate-north/maintenance", headers=tech).json() == {
        "device_id": "gate-north", "maintenance": False, "until": None
    }  # fmt: skip
    row = site.db.query("SELECT state, maintenance_until_ms FROM device_state WHERE device_id = 'gate-north'")[0]
    assert row["maintenance_until_ms"] is None
    if with_runtime:
        assert row["state"] != "maintenance"
    trail = [(a["actor"], a["action"]) for a in _audit(site) if a["target"] == "gate-north"]
    assert trail == [("technician-duty", "device.maintenance"), ("technician-duty", "device.maintenance_end")]


def test_event_filters_and_pagination(client: TestClient, site: Site) -> None:
    h = bearer(site.tokens["viewer"])
    total = site.db.query("SELECT COUNT(*) AS n FROM events")[0]["n"]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{A}/events", params=params, headers=h).json()
        seen += [e["seq"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == total

    def fetch(**params: object) -> list[dict[str, object]]:
        r = client.get(f"{A}/events", params={"limit": 1000, **params}, headers=h)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    assert {e["device_id"] for e in fetch(device="canteen")} == {"canteen"}
    assert {e["kind"] for e in fetch(kind=["alarm.press", "device.offline"])} == {"alarm.press", "device.offline"}
    assert {e["device_id"] for e in fetch(location="南门岗亭")} == {"gate-south"}
    assert [e["test"] for e in fetch(kind="alarm.press", test=True)] == [True]
    recent = datetime.now(UTC) - timedelta(minutes=15)
    assert {e["kind"] for e in fetch(since=recent.isoformat())} == {"device.offline", "camera.quality"}
    assert fetch(until="2000-01-01T00:00:00Z") == []
    assert client.get(f"{A}/events", params={"kind": "nope"}, headers=h).status_code == 422
    assert client.get(f"{A}/events", params={"cursor": "x"}, headers=h).status_code == 422
    assert client.get(f"{A}/events", params={"limit": 1001}, headers=h).status_code == 422


def test_snapshot(client: TestClient, site: Site) -> None:
    h = bearer(site.tokens["viewer"])
    r = client.get(f"{A}/cameras/cam-gate/snapshot", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-snapshot-time"].endswith("Z") and "no-store" in r.headers["cache-control"]
    stored = get_snapshot(site.db, "cam-gate")
    assert stored is not None and r.content == stored[0]
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (180, 320, 3)
    assert client.get(f"{A}/cameras/gate-south/snapshot", headers=h).status_code == 404


def test_summary(client: TestClient, site: Site) -> None:
    s = client.get(f"{A}/summary", headers=bearer(site.tokens["viewer"])).json()
    # buttons: gate-south and canteen up, gate-north offline; dorm-a in maintenance is left out
    assert s["online_rate"]["button"] == round(2 / 3, 3)
    assert s["retention_compliance"] == round(2 / 3, 3) and s["quality_compliance"] == round(2 / 3, 3)


def test_metrics(client: TestClient, site: Site) -> None:
    text = client.get(f"{A}/metrics", headers=bearer(site.tokens["viewer"])).text
    assert 'edge_devices{state="offline",type="button"} 1.0' in text
    assert 'edge_devices{state="degraded",type="camera"} 2.0' in text
    assert 'edge_alarms_open{category="alarm",state="acknowledged"} 1.0' in text
    assert "edge_outbox_depth 1.0" in text
    age = next(
        float(line.split()[1]) for line in text.splitlines() if line.startswith("edge_outbox_oldest_age_seconds")
    )
    assert 3 < age < 600
    assert "edge_bad_input_total" in text or "edge_api_auth_failures_total" in text  # the default registry is there
