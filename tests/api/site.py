"""A realistic small school for the API tests: config, store contents, tokens of every role."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.api.state import AppState
from edge.api.tokens import Role, create_token
from edge.config import Config, parse_config
from edge.events import Event, EventKind, now_ms
from edge.hub import Hub
from edge.inventory import config_devices
from edge.runtime import Runtime
from edge.store import Database, changes
from edge.store.alarms import acknowledge, close, open_alarm
from edge.store.devices import set_state, sync_devices
from edge.store.events import insert_event
from edge.store.misc import put_check, put_snapshot

CONFIG = """
site: {{id: sch-0001, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:8080", tokens_file: {dir}/tokens.yaml, scrape_token_file: {dir}/scrape.token}}
mqtt: {{url: "mqtt://127.0.0.1:1883"}}
serial_buses:
  - {{id: bus1, port: /dev/ttyUSB0}}
buttons:
  - {{id: gate-south, name: 南门一键报警, location: 南门岗亭, zone: 1, transport: serial, bus: bus1, unit: 1,
     input: {{type: discrete_input, address: 0}}}}
  - {{id: gate-north, name: 北门一键报警, location: 北门岗亭, zone: 2, transport: serial, bus: bus1, unit: 2,
     input: {{type: discrete_input, address: 0}}}}
  - {{id: dorm-a, name: 宿舍A一键报警, location: 宿舍A, zone: 3, transport: mqtt}}
  - {{id: canteen, name: 食堂一键报警, location: 食堂, zone: 4, transport: mqtt}}
cameras:
  - {{id: cam-gate, name: 南门枪机, location: 南门岗亭, onvif: "http://127.0.0.1:1/onvif/device_service",
     key_area: true}}
  - {{id: cam-dorm, name: 宿舍A球机, location: 宿舍A, onvif: "http://127.0.0.1:2/onvif/device_service"}}
  - {{id: cam-play, name: 操场全景, location: 操场, onvif: "http://127.0.0.1:3/onvif/device_service"}}
police:
  account: "1234"
  receivers: ["dc09://127.0.0.1:12000", "dc09://127.0.0.1:12001"]
patrol:
  checkpoints:
    - {{id: cp-gate, name: 南门, location: 南门岗亭, tag: "04A1B2C3D4", camera: cam-gate}}
    - {{id: cp-dorm, name: 宿舍区, location: 宿舍A, tag: "QR-DORM-01"}}
  plans:
    - {{id: key-areas, checkpoints: [cp-gate, cp-dorm], rounds_per_day: 5}}
"""

SCRAPE_TOKEN = "scrape-secret-for-tests-0123456789"
FAST_COST = 2**10  # scrypt n for test tokens: the real cost would make every request ~60 ms slower
FILES = ("edge.db", "tokens.yaml", "scrape.token")


@dataclass
class Site:
    config: Config
    db: Database
    state: AppState
    tokens: dict[str, str]  # role label -> token
    alarm_ids: list[str]


def jpeg(label: str) -> bytes:
    img = np.zeros((180, 320, 3), np.uint8)
    img[:] = (60, 90, 40)
    cv2.rectangle(img, (20, 100), (300, 170), (90, 140, 90), -1)
    cv2.putText(img, label, (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf)


def _event(
    db: Database, kind: EventKind, device: str, payload: dict[str, object], ts: int, test: bool = False
) -> Event:
    ev = Event(kind=kind, device_id=device, payload=payload, ts_ms=ts, site="sch-0001", test=test)
    with db.tx() as conn:
        insert_event(conn, ev)
        changes.record_change(conn, changes.EVENT, ev.id, ev.as_dict())
    return ev


def press(db: Database, device: str, zone: int, location: str, ts: int | None = None, test: bool = False) -> str:
    """A button press as the rule engine records it: the event and the alarm, in one transaction."""
    ts = ts or now_ms()
    ev = Event(kind=EventKind.ALARM_PRESS, device_id=device, payload={}, ts_ms=ts, site="sch-0001", test=test)
    alarm_id = str(uuid.uuid4())
    with db.tx() as conn:
        insert_event(conn, ev)
        changes.record_change(conn, changes.EVENT, ev.id, ev.as_dict())
        open_alarm(
            conn, alarm_id=alarm_id, event_id=ev.id, device_id=device, category="alarm", kind="alarm.press",
            severity="critical", message="一键报警", zone=zone, location=location, test=test, opened_ms=ts,
        )  # fmt: skip
    return alarm_id


def build_site(tmp: Path) -> Site:
    (tmp / "scrape.token").write_text(SCRAPE_TOKEN + "\n")
    config = parse_config(CONFIG.format(dir=tmp), "test.yaml")
    db = Database(config.storage.path)
    inventory = config_devices(config)
    sync_devices(db, inventory)
    primary, backup = [d["id"] for d in inventory if d["type"] == "receiver"]  # ids are the inventory's business
    now = now_ms()
    states = {
        "bus1": ("online", []),
        "gate-south": ("online", []),
        "gate-north": ("offline", ["no_response"]),
        "dorm-a": ("maintenance", ["maintenance"]),
        "canteen": ("online", []),
        "cam-gate": ("degraded", ["retention_short"]),
        "cam-dorm": ("online", []),
        "cam-play": ("degraded", ["quality_blurred"]),
        primary: ("online", []),
        backup: ("unknown", []),
    }
    with db.tx() as conn:
        for dev, (st, reasons) in states.items():
            until = now + 3_600_000 if st == "maintenance" else None
            set_state(conn, dev, st, reasons, now - 600_000, now - 5_000, maintenance_until_ms=until)
        put_check(conn, "cam-gate", "retention", "short",
                  {"retained_days": 12.0, "required_days": 90, "shortfall_days": 78}, now - 60_000)  # fmt: skip
        put_check(conn, "cam-dorm", "retention", "pass", {"retained_days": 35.5, "required_days": 30}, now - 60_000)
        put_check(conn, "cam-play", "retention", "pass", {"retained_days": 31.0, "required_days": 30}, now - 60_000)
        put_check(conn, "cam-gate", "quality", "pass", {"failures": []}, now - 30_000)
        put_check(conn, "cam-dorm", "quality", "pass", {"failures": []}, now - 30_000)
        put_check(conn, "cam-play", "quality", "fail", {"failures": ["blurred"]}, now - 30_000)
        for cam, drift in (("cam-gate", 0.4), ("cam-dorm", 1.2), ("cam-play", 0.1)):
            put_check(conn, cam, "clock", "pass", {"drift_s": drift}, now - 30_000)
    for cam in ("cam-gate", "cam-dorm", "cam-play"):
        put_snapshot(db, cam, jpeg(cam), now - 20_000)
    for i in range(30):  # history: heartbeats and state changes over the last hours
        _event(db, EventKind.DEVICE_ONLINE, "canteen", {}, now - 3_600_000 + i * 60_000)
    _event(db, EventKind.DEVICE_OFFLINE, "gate-north", {"reason": "no_response"}, now - 600_000)
    _event(db, EventKind.CAMERA_QUALITY, "cam-play", {"verdict": "fail", "failures": ["blurred"]}, now - 30_000)
    closed = press(db, "canteen", 4, "食堂", ts=now - 7_200_000, test=True)
    acked = press(db, "gate-south", 1, "南门岗亭", ts=now - 1_800_000)
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO outbox (event_id, transport, message, created_ms, state, attempts, receiver, acked_ms) "
            "SELECT event_id, 'dc09', '{}', opened_ms, 'delivered', 1, 'dc09://127.0.0.1:12000', opened_ms + 300 "
            "FROM alarms WHERE id = ?",
            (acked,),
        )
        conn.execute(
            "INSERT INTO outbox (event_id, transport, message, created_ms, state) VALUES (?, 'dc09', ?, ?, 'pending')",
            ("null-supervision", json.dumps({"code": "NULL"}), now - 4_000),
        )
    tokens_file = config.api.tokens_file
    assert tokens_file is not None
    tokens = {r.label: create_token(tokens_file, f"{r.label}-duty", r, cost=FAST_COST) for r in Role}
    state = AppState(config, db, Hub())
    acknowledge(db, acked, "operator-duty", "已电话确认")
    close(db, closed, "operator-duty", "测试完毕")
    return Site(config=config, db=db, state=state, tokens=tokens, alarm_ids=[acked, closed])


def copy_site(template: Site, tmp: Path) -> Site:
    """A fresh copy of a built site: copying the files is ~100x faster than building (fsync per commit)."""
    src = template.config.storage.path.parent
    for name in FILES:
        shutil.copy2(src / name, tmp / name)
    config = parse_config(CONFIG.format(dir=tmp), "test.yaml")
    db = Database(config.storage.path)
    hub = Hub()
    # The API's writes are commands to the runtime (the one writer), as in the daemon.
    state = AppState(config, db, hub, runtime=Runtime(config, db, hub))
    return Site(config, db, state, template.tokens, template.alarm_ids)
