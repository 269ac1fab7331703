"""Alarm objects carry the alarm centre's priority and "what happened" (DESIGN.md section 12).

Events go through the real Runtime (rule engine, store), as in the daemon; the API serves the result.
"""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from edge.events import Event, EventKind
from edge.store.alarms import escalate
from tests.api.conftest import bearer
from tests.api.site import Site

A = "/api/v1"


def _emit(site: Site, *events: Event) -> None:
    runtime = site.state.runtime
    assert runtime is not None

    async def go() -> None:
        for e in events:
            await runtime.emit(e)

    asyncio.run(go())


def test_every_alarm_object_has_priority_what_and_since(client: TestClient, site: Site) -> None:
    _emit(
        site,
        Event(EventKind.ALARM_PRESS, "gate-south", {"input": "discrete_input:0"}),
        Event(
            EventKind.DEVICE_OFFLINE, "canteen", {"type": "button", "transport": "mqtt", "reason": "heartbeat_timeout"}
        ),
        Event(EventKind.CAMERA_RETENTION, "cam-dorm", {"verdict": "short", "retained_days": 12.0, "required_days": 30}),
        Event(EventKind.DEVICE_TAMPER, "gate-north", {"state": "active"}),
    )
    h = bearer(site.tokens["viewer"])
    items = client.get(f"{A}/alarms", params={"state": "open"}, headers=h).json()["items"]
    got = {(a["device_id"], a["kind"]): (a["priority"], a["what"], a["reason"], a["device_type"]) for a in items}
    assert got[("gate-south", "alarm.press")] == (1, "press", None, "button")
    assert got[("gate-north", "device.tamper")] == (1, "tamper", None, "button")
    assert got[("canteen", "device.offline")] == (2, "offline", "heartbeat_timeout", "button")
    assert got[("cam-dorm", "camera.retention")] == (3, "retention_short", None, "camera")
    assert all(a["opened_at"].endswith("Z") and a["escalated_at"] is None for a in items)
    # the same objects in /status, which the dashboard reads
    status = client.get(f"{A}/status", headers=h).json()
    in_status = {a["id"]: a["priority"] for a in status["open_alarms"]}
    assert {a["id"]: in_status.get(a["id"]) for a in items} == {a["id"]: a["priority"] for a in items}
    # and one by id
    one = client.get(f"{A}/alarms/{items[0]['id']}", headers=h).json()
    assert one["priority"] == items[0]["priority"] and one["what"] == items[0]["what"]


def test_escalation_is_visible(client: TestClient, site: Site) -> None:
    _emit(site, Event(EventKind.ALARM_PRESS, "gate-south", {}))
    [row] = site.db.query("SELECT id FROM alarms WHERE device_id = 'gate-south' AND state = 'open'")
    with site.db.tx() as conn:  # what the engine's escalation does when nobody acknowledges in time
        escalate(conn, row["id"], "emergency", 1_795_312_984_000)
    a = client.get(f"{A}/alarms/{row['id']}", headers=bearer(site.tokens["viewer"])).json()
    assert a["severity"] == "emergency" and a["escalated_at"] == "2026-11-22T02:03:04.000Z"
    assert a["priority"] == 1
