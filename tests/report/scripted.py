"""A scripted school day in a real store, with the figures the report must compute from it.

The day is 2026-11-21 at an Asia/Shanghai site: it runs from 2026-11-20T16:00Z to 2026-11-21T16:00Z.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.events import Event, EventKind
from edge.store import Database
from edge.store.alarms import open_alarm
from edge.store.devices import sync_devices
from edge.store.events import insert_event

DAY = datetime(2026, 11, 21).date()
TZ = "Asia/Shanghai"
START_MS = int(datetime(2026, 11, 20, 16, tzinfo=UTC).timestamp() * 1000)
PRIMARY = "dc09://192.0.2.110:12000"
BACKUP = "dc09://192.0.2.111:12000"

DEVICES: list[dict[str, Any]] = [
    {"id": "btn-a", "type": "button", "name": "南门一键报警", "location": "南门岗亭", "zone": 1},
    {"id": "btn-m", "type": "button", "name": "宿舍A一键报警", "location": "宿舍A", "zone": 2},
    {"id": "btn-n", "type": "button", "name": "食堂一键报警", "location": "食堂", "zone": 3},
    {"id": "cam-a", "type": "camera", "name": "南门枪机", "location": "南门"},
    {"id": "cam-b", "type": "camera", "name": "操场球机", "location": "操场"},
    {"id": "cam-k", "type": "camera", "name": "校门重点", "location": "校门", "tags": ["key_area"]},
    {"id": "receiver-192.0.2.110-12000", "type": "receiver", "name": "主接收机 primary", "location": PRIMARY},
    {"id": "receiver-192.0.2.111-12000", "type": "receiver", "name": "备用接收机 backup", "location": BACKUP},
]


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> int:
    """UTC ms of a local (site) time on the scripted day; day=-1 is the day before, 1 the day after."""
    return START_MS + int(timedelta(days=day, hours=hour, minutes=minute, seconds=second).total_seconds() * 1000)


def _ev(kind: str, device: str, ts: int, payload: dict[str, Any] | None = None, test: bool = False) -> Event:
    return Event(EventKind(kind), device, payload or {}, ts_ms=ts, site="sch-0001", test=test)


def _events() -> list[Event]:
    on, off, link = "device.online", "device.offline", "relay.link"
    evs = [_ev(on, d, at(8, day=-1)) for d in ("btn-a", "btn-m", "cam-a", "cam-k", "cam-b")]
    evs += [
        _ev(link, "receiver-192.0.2.110-12000", at(8, day=-1), {"receiver": PRIMARY, "state": "up"}),
        # camera B: offline since 22:00 the day before (a repeated report at 23:30), back at 02:00
        _ev(off, "cam-b", at(22, day=-1), {"reason": "no_response"}),
        _ev(off, "cam-b", at(23, 30, day=-1), {"reason": "no_response"}),
        _ev(on, "cam-b", at(2)),
        # button A: two outages
        _ev(off, "btn-a", at(1), {"reason": "no_response"}),
        _ev(on, "btn-a", at(1, 30)),
        _ev(off, "btn-a", at(13), {"reason": "heartbeat_timeout"}),
        _ev(on, "btn-a", at(14)),
        # button M: maintenance 09:00-11:00 (an outage inside it does not count), then a real outage
        _ev(off, "btn-m", at(9, 30), {"reason": "power"}),
        _ev(on, "btn-m", at(10)),
        _ev(off, "btn-m", at(15), {"reason": "no_response"}),
        _ev(on, "btn-m", at(15, 20)),
        _ev("alarm.press", "btn-m", at(9, 45), {"input": "discrete_input:0"}, test=True),
        # button N: first ever state at 06:00, unknown before
        _ev(on, "btn-n", at(6)),
        # key-area camera: goes offline at 23:00 and stays so
        _ev(off, "cam-k", at(23), {"reason": "no_response"}),
        # police links: primary down 10 minutes, backup first heard of at 03:00
        _ev(link, "receiver-192.0.2.110-12000", at(20), {"receiver": PRIMARY, "state": "down", "reason": "timeout"}),
        _ev(link, "receiver-192.0.2.110-12000", at(20, 10), {"receiver": PRIMARY, "state": "up"}),
        _ev(link, "receiver-192.0.2.111-12000", at(3), {"receiver": BACKUP, "state": "up"}),
    ]
    ret = "camera.retention"
    evs += [
        _ev(ret, "cam-a", at(3, 30, day=-1), {"verdict": "pass", "retained_days": 30, "required_days": 30,
                                              "shortfall_days": 0}),
        _ev(ret, "cam-a", at(3, 30), {"verdict": "short", "retained_days": 29, "required_days": 30,
                                      "shortfall_days": 1}),
        _ev(ret, "cam-b", at(3, 30), {"verdict": "short", "retained_days": 29.5, "required_days": 30,
                                      "shortfall_days": 0.5}),
        _ev(ret, "cam-b", at(12), {"verdict": "pass", "retained_days": 31, "required_days": 30, "shortfall_days": 0}),
        _ev(ret, "cam-k", at(3, 30), {"verdict": "short", "retained_days": 60, "required_days": 90,
                                      "shortfall_days": 30}),
    ]  # fmt: skip
    q = "camera.quality"
    evs += [
        _ev(q, "cam-a", at(6), {"verdict": "fail", "failures": ["blurred"]}),
        _ev(q, "cam-a", at(6, 15), {"verdict": "fail", "failures": ["blurred"]}),
        _ev(q, "cam-a", at(6, 30), {"verdict": "pass", "failures": []}),
        _ev(q, "cam-b", at(6), {"verdict": "pass", "failures": []}),
        _ev(q, "cam-k", at(7), {"verdict": "fail", "failures": ["black", "covered"]}),
        # outside the day: must not count
        _ev(q, "cam-b", at(0, day=1), {"verdict": "fail", "failures": ["frozen"]}),
    ]
    return evs


# (id, device, category, kind, opened, ack after seconds or None, test)
ALARMS = [
    ("al-1", "btn-a", "alarm", "alarm.press", at(8), 45, False),
    ("al-2", "btn-n", "alarm", "alarm.press", at(16), 130, False),
    ("al-3", "btn-a", "alarm", "alarm.press", at(21), None, False),
    ("al-t", "btn-m", "alarm", "alarm.press", at(9, 45), 20, True),
    ("fl-1", "cam-k", "flag", "device.offline", at(23, 0, 5), 300, False),
    # the day's edges: the instant before it and the instant it ends belong to other days
    ("al-before", "btn-a", "alarm", "alarm.press", at(0) - 1, 10, False),
    ("al-after", "btn-a", "alarm", "alarm.press", at(0, day=1), 10, False),
]


def fill(path: Path, devices: list[dict[str, Any]] | None = None) -> Path:
    db = Database(path)
    try:
        sync_devices(db, devices if devices is not None else DEVICES)
        with db.tx() as conn:
            for ev in _events():
                insert_event(conn, ev)
            for alarm_id, dev, cat, kind, opened, ack_s, test in ALARMS:
                open_alarm(conn, alarm_id=alarm_id, event_id=f"ev-{alarm_id}", device_id=dev, category=cat,
                           kind=kind, severity="high", message="", zone=None, location="", test=test,
                           opened_ms=opened)  # fmt: skip
                if ack_s is not None:
                    conn.execute(
                        "UPDATE alarms SET state='acknowledged', acked_ms=?, acked_by='值班员' WHERE id=?",
                        (opened + ack_s * 1000, alarm_id),
                    )
            # maintenance 09:00 until 11:00 for button M, as the rule engine records it on the change feed
            for ts, data in (
                (at(9), {"state": "maintenance", "maintenance_until_ms": at(11)}),
                (at(11), {"state": "online"}),
            ):
                conn.execute(
                    "INSERT INTO changes (ts_ms, type, ref, data) VALUES (?, 'device', 'btn-m', ?)",
                    (ts, json.dumps(data)),
                )
    finally:
        db.close()
    return path
