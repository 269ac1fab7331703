"""Integration through Runtime with a real SQLite store: events, outbox rows, alarms, maintenance, reload, restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import Config, parse_config
from edge.core.maintenance import MaintenanceError
from edge.events import Event, EventKind
from edge.hub import Hub
from edge.inventory import config_devices
from edge.runtime import Runtime
from edge.store import Database
from edge.store.alarms import AlarmStateError, get_alarm, list_alarms
from edge.store.devices import devices_with_state, sync_devices
from edge.store.misc import checks_for
from tests.rules.sim import T0

BASE = """
site: {id: sch-0001, name: 第一实验小学}
storage: {path: edge.db}
api: {listen: "127.0.0.1:8080"}
mqtt: {url: "mqtt://127.0.0.1:1883"}
police: {account: "1234", receivers: ["dc09://127.0.0.1:12000"]}
buttons:
  - {id: gate-south, name: 南门一键报警, location: 南门岗亭, zone: 1, transport: mqtt}
  - {id: dorm-a, name: 宿舍A一键报警, location: 宿舍A, zone: 2, transport: mqtt}
cameras:
  - {id: cam-gate, name: 南门枪机, location: 南门, onvif: "http://127.0.0.1:1/onvif/device_service"}
"""


def make_config(tmp: Path, extra: str = "") -> Config:
    return parse_config(BASE + extra, "test.yaml", base_dir=tmp)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> int:
        self.now += int(seconds * 1000)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(tmp_path / "edge.db")
    yield d
    d.close()


def start(config: Config, db: Database, clock: Clock) -> Runtime:
    sync_devices(db, config_devices(config))
    return Runtime(config, db, Hub(), clock=clock)


def outbox(db: Database) -> list[tuple[str, str, int, bool]]:
    rows = db.query("SELECT transport, message FROM outbox ORDER BY seq")
    out = []
    for r in rows:
        m = json.loads(r["message"])
        out.append((r["transport"], m["code"], m["zone"], m["test"]))
    return out


def ev(kind: str, device: str, clock: Clock, **payload: Any) -> Event:
    return Event(EventKind(kind), device, payload, ts_ms=clock.now)


async def test_press_ack_release_close(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path), db, clock)
    rang: list[int] = []
    rt.after_commit.append(lambda: rang.append(1))
    await rt.emit(ev("alarm.press", "gate-south", clock))
    assert outbox(db) == [("dc09", "PANIC", 1, False)]
    [alarm] = list_alarms(db, state="open")
    assert (alarm["device_id"], alarm["category"], alarm["zone"], alarm["severity"]) == (
        "gate-south",
        "alarm",
        1,
        "critical",
    )
    assert rang == [1]
    feed = db.query("SELECT type FROM changes ORDER BY seq")
    assert [r["type"] for r in feed] == ["event", "alarm", "device"]

    acked = await rt.acknowledge(alarm["id"], "值班员张三", "已派保安")
    assert acked is not None and acked["state"] == "acknowledged"
    assert rt.state.alarms[alarm["id"]].acked  # the engine took the ack in with its commit, not a tick later
    clock.advance(5)
    await rt.emit(ev("alarm.release", "gate-south", clock, reset="released"))
    assert outbox(db)[-1] == ("dc09", "PANIC_RESTORE", 1, False)
    assert _alarm(db, alarm["id"])["state"] == "acknowledged"  # a release never resets the alarm

    clock.advance(600)
    rt.tick()
    assert _alarm(db, alarm["id"])["escalated_ms"] is None  # acknowledged in time: no escalation
    await rt.close_alarm(alarm["id"], "值班员张三", "误触，已复位")
    assert _alarm(db, alarm["id"])["state"] == "closed"
    assert rt.state.alarms == {}
    with pytest.raises(AlarmStateError):
        await rt.close_alarm(alarm["id"], "x", "again")
    with pytest.raises(AlarmStateError):
        await rt.acknowledge(alarm["id"], "x", "too late")
    assert await rt.acknowledge("no-such-alarm", "x", "") is None


async def test_unacknowledged_alarm_escalates(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(
        make_config(tmp_path, "alarms: {escalate_after: 30s, escalation: [{url: 'http://127.0.0.1:9/p'}]}\n"), db, clock
    )
    await rt.emit(ev("alarm.press", "dorm-a", clock))
    [alarm] = list_alarms(db, state="open")
    clock.advance(29)
    rt.tick()
    assert _alarm(db, alarm["id"])["severity"] == "critical"
    clock.advance(1)
    rt.tick()
    row = _alarm(db, alarm["id"])
    assert (row["severity"], row["escalated_ms"], row["state"]) == ("emergency", clock.now, "open")
    assert rt.notifier.queue.qsize() == 1
    assert rt.notifier.queue.get_nowait().body["alarm_id"] == alarm["id"]


async def test_offline_flag_and_restore(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path, "device_states: {hysteresis: 10s}\n"), db, clock)
    await rt.emit(ev("device.offline", "dorm-a", clock, reason="heartbeat_timeout"))
    [flag] = list_alarms(db, category="flag")
    [dev] = devices_with_state(db, "dorm-a")
    assert (dev["state"], json.loads(dev["reasons"])) == ("offline", ["heartbeat_timeout"])
    clock.advance(1)
    await rt.emit(ev("device.online", "dorm-a", clock))
    clock.advance(10)
    rt.tick()
    assert outbox(db) == [("dc09", "TROUBLE", 2, False), ("dc09", "TROUBLE_RESTORE", 2, False)]
    assert _alarm(db, flag["id"])["state"] == "closed"
    assert _alarm(db, flag["id"])["closed_by"] == "system:rules"
    assert devices_with_state(db, "dorm-a")[0]["state"] == "online"


async def test_maintenance_sends_test_code_only(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path), db, clock)
    detail = await rt.set_maintenance("gate-south", 15, "技术员李四")
    assert detail["maintenance_until"] is not None
    await rt.emit(ev("alarm.press", "gate-south", clock))
    await rt.emit(ev("alarm.release", "gate-south", clock))
    assert outbox(db) == [("dc09", "TEST_MANUAL", 1, True)]
    assert list_alarms(db) == []
    assert [r["test"] for r in db.query("SELECT test FROM events")] == [1, 1]
    assert devices_with_state(db, "gate-south")[0]["state"] == "maintenance"
    audit = db.query("SELECT actor, action FROM audit")
    assert audit == [{"actor": "技术员李四", "action": "device.maintenance"}]

    await rt.clear_maintenance("gate-south", "技术员李四")
    await rt.emit(ev("alarm.press", "gate-south", clock))
    assert outbox(db)[-1] == ("dc09", "PANIC", 1, False)
    with pytest.raises(MaintenanceError):
        await rt.set_maintenance("gate-south", 100_000, "x")
    with pytest.raises(MaintenanceError):
        await rt.set_maintenance("nope", 5, "x")


async def test_maintenance_expires(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path), db, clock)
    await rt.set_maintenance("dorm-a", 1, "api:tech")
    await rt.emit(ev("alarm.press", "dorm-a", clock))
    assert outbox(db) == [("dc09", "TEST_MANUAL", 2, True)]
    clock.advance(61)
    rt.tick()
    assert devices_with_state(db, "dorm-a")[0]["state"] == "online"
    assert devices_with_state(db, "dorm-a")[0]["maintenance_until_ms"] is None
    await rt.emit(ev("alarm.press", "dorm-a", clock))
    assert outbox(db)[-1] == ("dc09", "PANIC", 2, False)


async def test_reload_with_new_rules_keeps_open_alarms(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path), db, clock)
    await rt.emit(ev("alarm.press", "gate-south", clock))
    await rt.emit(ev("device.offline", "cam-gate", clock, reason="unreachable"))
    before = {a["id"] for a in list_alarms(db)}
    rt.update_config(
        make_config(
            tmp_path,
            "rules:\n"
            "  - name: quiet-cameras\n"
            "    when: {kind: device.offline, type: camera}\n"
            "    then: {suppress: true}\n",
        )
    )
    assert set(rt.state.alarms) == before
    await rt.emit(ev("device.offline", "dorm-a", clock, reason="heartbeat_timeout"))
    clock.advance(1)
    await rt.emit(ev("device.online", "cam-gate", clock))
    clock.advance(20)
    rt.tick()  # back for the hysteresis time: the old camera flag clears
    await rt.emit(ev("device.offline", "cam-gate", clock, reason="unreachable"))  # suppressed now
    assert len(list_alarms(db, category="flag", state="open")) == 1  # dorm-a only; the old camera flag cleared
    clock.advance(100)
    rt.tick()
    press = next(a for a in list_alarms(db, category="alarm"))
    assert press["severity"] == "emergency"  # escalation survived the reload


async def test_restart_restores_state(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "edge.db"
    db = Database(path)
    rt = start(make_config(tmp_path), db, clock)
    await rt.emit(ev("alarm.press", "gate-south", clock))
    await rt.emit(ev("device.offline", "dorm-a", clock, reason="heartbeat_timeout"))
    await rt.set_maintenance("cam-gate", 10, "tech")
    rt.close()
    db.close()

    clock.advance(60)
    db2 = Database(path)
    rt2 = start(make_config(tmp_path), db2, clock)
    assert len(rt2.state.alarms) == 2
    assert str(rt2.state.devices["dorm-a"].state) == "offline"
    assert rt2.state.devices["cam-gate"].maintenance_until_ms == T0 + 600_000
    await rt2.emit(ev("device.offline", "cam-gate", clock, reason="unreachable"))
    assert list_alarms(db2, category="flag", state="open")[0]["device_id"] == "dorm-a"  # camera flag held
    await rt2.emit(ev("device.online", "dorm-a", clock))
    clock.advance(20)
    rt2.tick()  # hysteresis (20 s default) passed: the restore owed from before the restart goes out
    assert [o[1] for o in outbox(db2)] == ["PANIC", "TROUBLE", "TROUBLE_RESTORE"]
    clock.advance(40)
    rt2.tick()
    assert next(a for a in list_alarms(db2, category="alarm"))["severity"] == "emergency"
    db2.close()


async def test_restart_without_saved_state_rebuilds_from_tables(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "edge.db"
    db = Database(path)
    rt = start(make_config(tmp_path), db, clock)
    await rt.emit(ev("alarm.press", "gate-south", clock))
    with db.tx() as conn:
        n = conn.execute("UPDATE meta SET value = 'not json' WHERE key LIKE 'rules.alarm.%'").rowcount
    assert n == 1
    db.close()
    db2 = Database(path)
    rt2 = start(make_config(tmp_path), db2, clock)
    assert len(rt2.state.alarms) == 1
    clock.advance(120)
    rt2.tick()
    assert list_alarms(db2)[0]["severity"] == "emergency"
    db2.close()


async def test_engine_fault_still_relays_a_press(
    tmp_path: Path, db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = start(make_config(tmp_path), db, clock)

    def broken(*args: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(rt.engine, "on_event", broken)
    await rt.emit(ev("alarm.press", "gate-south", clock))
    await rt.emit(ev("device.offline", "dorm-a", clock))
    assert outbox(db) == [("dc09", "PANIC", 1, False)]
    assert len(list_alarms(db)) == 1
    assert len(db.query("SELECT * FROM events")) == 2  # nothing lost


async def test_no_police_section_still_opens_alarms(tmp_path: Path, db: Database, clock: Clock) -> None:
    text = BASE.replace('police: {account: "1234", receivers: ["dc09://127.0.0.1:12000"]}\n', "")
    rt = start(parse_config(text, "t.yaml", base_dir=tmp_path), db, clock)
    await rt.emit(ev("alarm.press", "gate-south", clock))
    assert outbox(db) == []
    assert len(list_alarms(db)) == 1


async def test_maintenance_command_while_running(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path), db, clock)
    task = asyncio.create_task(rt.run())
    try:
        await asyncio.sleep(0)
        rings = rt.hub.rings
        waiter = asyncio.create_task(rt.hub.wait(5))
        await asyncio.sleep(0)
        await rt.set_maintenance("gate-south", 5, "tech")
        assert await waiter  # the Hub was rung on the loop, not from the writer thread
        assert rt.hub.rings > rings
        await rt.emit(ev("alarm.press", "gate-south", clock))
        assert outbox(db) == [("dc09", "TEST_MANUAL", 1, True)]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_restart_keeps_for_timers(tmp_path: Path, clock: Clock) -> None:
    extra = (
        "rules:\n"
        "  - name: gate-camera-down\n"
        "    when: {kind: device.offline, device: cam-gate, for: 1m}\n"
        "    then: {flag: {severity: critical, message: 南门摄像机持续离线}}\n"
    )
    path = tmp_path / "edge.db"
    db = Database(path)
    rt = start(make_config(tmp_path, extra), db, clock)
    await rt.emit(ev("device.offline", "cam-gate", clock, reason="unreachable"))
    assert list_alarms(db)[0]["severity"] == "warning"
    db.close()
    clock.advance(60)
    db2 = Database(path)
    rt2 = start(make_config(tmp_path, extra), db2, clock)  # its first tick finds the timer due
    assert list_alarms(db2)[0]["severity"] == "critical"
    assert rt2.state.pending == ()
    db2.close()


async def test_camera_check_events_keep_the_latest_result(tmp_path: Path, db: Database, clock: Clock) -> None:
    rt = start(make_config(tmp_path), db, clock)
    short = {"verdict": "short", "retained_days": 12.0, "required_days": 30, "shortfall_days": 18.0}
    await rt.emit(ev("camera.retention", "cam-gate", clock, **short))
    await rt.emit(ev("camera.clock", "cam-gate", clock, drift_s=0.4, verdict="ok"))
    got = checks_for(db, "cam-gate")
    assert got["retention"]["verdict"] == "short" and got["retention"]["shortfall_days"] == 18.0
    assert got["clock"]["drift_s"] == 0.4
    clock.advance(86_400)
    await rt.emit(ev("camera.retention", "cam-gate", clock, verdict="pass", retained_days=31.0, required_days=30))
    got = checks_for(db, "cam-gate")
    assert (got["retention"]["verdict"], got["retention"]["ts_ms"]) == ("pass", clock.now)  # replaced, not added


SHORT = {"verdict": "short", "retained_days": 12.0, "required_days": 30, "shortfall_days": 18.0}
UNKNOWN = {"verdict": "unknown", "required_days": 30, "detail": "GetRecordingSummary: timeout"}


def _alarm(db: Database, alarm_id: str) -> dict[str, Any]:
    row = get_alarm(db, alarm_id)
    assert row is not None, alarm_id
    return row


def _open_flags(db: Database, device: str) -> list[str]:
    return [a["message"] for a in list_alarms(db, category="flag", state="open") if a["device_id"] == device]


@pytest.mark.parametrize("saved", [True, False], ids=["saved-state", "rebuilt-from-tables"])
async def test_restart_opens_no_second_retention_flag(tmp_path: Path, clock: Clock, saved: bool) -> None:
    """Issue 12 item 9: one open flag per device and cause, across a restart (whether or not the engine's
    saved state could be read) and whatever the first check after it answers."""
    path = tmp_path / "edge.db"
    db = Database(path)
    rt = start(make_config(tmp_path), db, clock)
    await rt.emit(ev("camera.retention", "cam-gate", clock, **SHORT))
    assert _open_flags(db, "cam-gate") == ["录像保存不达标：南门枪机（南门）：保存天数不足"]
    rt.close()
    if not saved:
        with db.tx() as conn:
            conn.execute("UPDATE meta SET value = 'not json' WHERE key = 'rules.dev.cam-gate'")
    db.close()

    clock.advance(60)
    db2 = Database(path)
    rt2 = start(make_config(tmp_path), db2, clock)
    await rt2.emit(ev("camera.retention", "cam-gate", clock, **UNKNOWN))  # the recorder not up yet
    clock.advance(86_400)
    await rt2.emit(ev("camera.retention", "cam-gate", clock, **SHORT))
    clock.advance(86_400)
    await rt2.emit(ev("camera.retention", "cam-gate", clock, **UNKNOWN))
    assert _open_flags(db2, "cam-gate") == ["录像保存不达标：南门枪机（南门）：保存天数不足"]
    rt2.close()
    db2.close()
