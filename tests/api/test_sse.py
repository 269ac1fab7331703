"""GET /stream against a real uvicorn server: live delivery within 1 s, exact resume with Last-Event-ID."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from edge.api.tokens import Role
from edge.events import Event, EventKind
from edge.runtime import Runtime
from tests.api.conftest import bearer
from tests.api.live import LiveServer
from tests.api.site import Site, press

STREAM = "/api/v1/stream"


def frames(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    frame: dict[str, str] = {}
    for line in lines:
        if not line:
            if frame:
                yield frame
            frame = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            frame[key] = value.lstrip(" ")


def emit(live: LiveServer, site: Site, device: str, kind: EventKind = EventKind.DEVICE_ONLINE) -> Event:
    runtime = Runtime(site.config, site.db, site.state.hub)
    event = Event(kind=kind, device_id=device, payload={"n": device})
    live.call(runtime.emit(event))
    return event


def test_live_delivery_and_exact_resume(live: LiveServer, site: Site) -> None:
    h = bearer(site.tokens["viewer"])
    with httpx.Client(base_url=live.url, timeout=5) as http:
        with http.stream("GET", STREAM, headers=h) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            it = frames(r.iter_lines())
            assert next(it)["retry"] == "2000"
            assert next(it)["event"] == "hello"
            sent = time.monotonic()
            first = emit(live, site, "canteen")
            got = next(f for f in it if f.get("event") == "event")
            assert time.monotonic() - sent < 1.0
            assert json.loads(got["data"])["data"]["id"] == first.id
            resume_from = int(got["id"])
        # changes while disconnected: two events (and whatever the rules make of them), a press, an ack
        missed = [emit(live, site, "gate-south").id, emit(live, site, "dorm-a").id]
        alarm = press_open(site)
        ack = http.post(f"/api/v1/alarms/{alarm}/ack", json={"note": "n"}, headers=bearer(site.tokens["operator"]))
        assert ack.status_code == 200
        expected = [
            r["seq"] for r in site.db.query("SELECT seq FROM changes WHERE seq > ? ORDER BY seq", (resume_from,))
        ]
        with http.stream("GET", STREAM, headers={**h, "Last-Event-ID": str(resume_from)}) as r:
            it = frames(r.iter_lines())
            next(it), next(it)  # retry, hello
            got_all = [next(it) for _ in expected]
    assert [int(f["id"]) for f in got_all] == expected  # every change after the one we saw, in order, once
    bodies = [json.loads(f["data"]) for f in got_all]
    events = [b["data"]["id"] for b in bodies if b["type"] == "event"]
    assert events[:2] == missed
    alarm_frames = [b for b in bodies if b["type"] == "alarm" and b["ref"] == alarm]
    assert [b["data"]["state"] for b in alarm_frames] == ["open", "acknowledged"]
    assert alarm_frames[-1]["data"]["by"] == "operator-duty"


def press_open(site: Site) -> str:
    return press(site.db, "gate-north", 2, "北门岗亭")


@pytest.mark.parametrize("who", list(Role))
def test_every_role_may_stream(live: LiveServer, site: Site, who: Role) -> None:
    with httpx.Client(base_url=live.url, timeout=5) as http:
        with http.stream("GET", STREAM, headers=bearer(site.tokens[who.label])) as r:
            assert r.status_code == 200
            it = frames(r.iter_lines())
            next(it)
            assert next(it)["event"] == "hello"
        assert http.get(STREAM).status_code == 401
        assert http.get(STREAM, headers=bearer("edge_x_y")).status_code == 401


def test_bad_or_future_last_event_id_asks_for_a_reset(live: LiveServer, site: Site) -> None:
    h = bearer(site.tokens["viewer"])
    with httpx.Client(base_url=live.url, timeout=5) as http:
        for value in ("garbage", "999999999"):
            with http.stream("GET", STREAM, headers={**h, "Last-Event-ID": value}) as r:
                it = frames(r.iter_lines())
                next(it)
                reset = next(it)
                assert reset["event"] == "reset"
                assert json.loads(reset["data"])["seq"] == site.db.query("SELECT MAX(seq) AS s FROM changes")[0]["s"]
