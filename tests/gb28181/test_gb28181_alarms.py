"""Alarm Notify through the transport against the simulator: the code mapping, guard commands
honoured and audited, a panic sent whatever the guard state, ResetAlarm clearing the channel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.config import parse_config
from edge.events import Event, EventKind, now_ms
from edge.gb28181 import routing
from edge.gb28181.device import GbDevice
from edge.gb28181.transport import Gb28181Transport
from edge.relay.message import PoliceCode, PoliceMessage
from edge.relay.transport import TransportRejected, TransportRetry
from edge.sim.gb28181_platform import PlatformSim
from edge.store.db import Database
from tests.gb28181.support import BUTTONS, CAM, DEVICE_ID, gb_config


def _msg(code: PoliceCode, device: str = "btn-1", event_id: str = "e1") -> PoliceMessage:
    return PoliceMessage(event_id, device, code, 1, now_ms(), location="位置1")


async def test_guard_reset_and_panic(tmp_path: Path) -> None:
    db = Database(tmp_path / "edge.db")
    sim = await PlatformSim(charset="UTF-8").start()
    device = GbDevice(gb_config(sim, charset="UTF-8"), sim.password, [CAM, *BUTTONS], db=db)
    transport = Gb28181Transport(device)
    with pytest.raises(TransportRetry, match="not registered"):
        await transport.deliver(_msg(PoliceCode.PANIC))
    task = asyncio.create_task(device.run())
    try:
        await sim.wait_for(lambda: device.registered)
        sn = await sim.control(DEVICE_ID, [("GuardCmd", "ResetGuard")])
        await sim.wait_for(lambda: sim.responses_for(sn))
        assert not device.guard
        delivery = await transport.deliver(_msg(PoliceCode.PANIC))  # disarmed: a panic still goes (GB 50394)
        assert delivery.receiver == device.server_uri
        alarm = sim.alarms[-1]
        assert (alarm.device_id, alarm.fields["AlarmPriority"], alarm.fields["AlarmMethod"]) == (
            BUTTONS[0].gb_id,
            "1",
            "2",
        )
        assert "联动摄像机：南门枪机（通道 34020000001320000001）" in alarm.fields["AlarmDescription"]
        assert device.duty(BUTTONS[0].gb_id) == "ALARM"
        await transport.deliver(_msg(PoliceCode.TAMPER, event_id="e2"))
        assert sim.alarms[-1].element.findtext("Info/AlarmType") == "2"
        await transport.deliver(_msg(PoliceCode.TROUBLE, "cam-gate", "e3"))
        assert (sim.alarms[-1].device_id, sim.alarms[-1].fields["AlarmMethod"]) == (CAM.gb_id, "6")
        with pytest.raises(TransportRejected):
            await transport.deliver(_msg(PoliceCode.PANIC, "no-such-button", "e4"))

        sn = await sim.control(DEVICE_ID, [("AlarmCmd", "ResetAlarm")], channel=BUTTONS[0].gb_id)
        await sim.wait_for(lambda: sim.responses_for(sn))
        assert device.duty(BUTTONS[0].gb_id) == "OFFDUTY"
        rows = db.query("SELECT actor, action, target FROM audit ORDER BY ts_ms")
        assert [(r["action"], r["target"]) for r in rows] == [
            ("gb28181.ResetGuard", DEVICE_ID),
            ("gb28181.ResetAlarm", BUTTONS[0].gb_id),
        ]
        assert rows[0]["actor"] == f"gb28181:{sim.server_id}"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()
        db.close()


CONFIG = """\
site: {id: s1, name: 测试学校}
storage: {path: /tmp/x.db}
api: {listen: "127.0.0.1:8080"}
mqtt: {url: "mqtt://127.0.0.1:1883"}
cameras:
  - {id: cam-gate, name: 南门, onvif: http://192.0.2.1/onvif/device_service, gb28181_id: "34020000001320000001"}
  - {id: cam-2, name: 操场, onvif: http://192.0.2.2/onvif/device_service}
buttons:
  - {id: b1, name: 南门按钮, zone: 1, transport: mqtt, camera: cam-gate, gb28181_id: "34020000001340000001"}
  - {id: b2, name: 其他, zone: 2, transport: mqtt}
gb28181: {server_id: "34020000002000000001", server: "udp://192.0.2.50:5060", device_id: "34020000001180000001"}
"""


def test_routing() -> None:
    cfg = parse_config(CONFIG, "test.yaml")
    assert routing.transports(cfg, _msg(PoliceCode.PANIC, "b1"), ["dc09"]) == ["dc09", "gb28181"]
    assert routing.transports(cfg, _msg(PoliceCode.PANIC, "b2"), ["dc09"]) == ["dc09"]
    assert routing.transports(cfg, _msg(PoliceCode.PANIC_RESTORE, "b1"), []) == []
    test = PoliceMessage("t", "b1", PoliceCode.TEST_MANUAL, 1, now_ms(), test=True)
    assert routing.transports(cfg, test, ["dc09"]) == ["dc09"]
    off = Event(EventKind.DEVICE_OFFLINE, "cam-gate", {"reason": "no_response"})
    fault = routing.camera_fault(cfg, off)
    assert fault is not None and fault.code is PoliceCode.TROUBLE and fault.device_id == "cam-gate"
    back = routing.camera_fault(cfg, Event(EventKind.DEVICE_ONLINE, "cam-gate", {}))
    assert back is not None and back.code is PoliceCode.TROUBLE_RESTORE
    assert routing.camera_fault(cfg, Event(EventKind.DEVICE_OFFLINE, "cam-2", {})) is None
