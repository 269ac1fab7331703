"""Alarm Notify bodies (GB/T 28181-2016 / 2022 section 9.4, annex A.2.5) for police reports.

| report                        | AlarmPriority | AlarmMethod        | AlarmType (Info)        |
| PANIC (button press)          | 1 (一级警情)  | 2 (设备报警)       | -                       |
| TAMPER                        | 2             | 2 (设备报警)       | 2 (设备防拆报警)        |
| TROUBLE (offline)             | 3             | 6 (设备故障报警)   | -                       |
| TROUBLE_RESTORE (back)        | 4             | 6 (设备故障报警)   | -                       |
"""

from __future__ import annotations

from datetime import datetime

from edge.gb28181 import manscdp
from edge.gb28181.channels import Channel
from edge.relay.message import PoliceCode, PoliceMessage

# code -> (AlarmPriority, AlarmMethod, AlarmType or None, zh text)
CODES: dict[PoliceCode, tuple[int, int, int | None, str]] = {
    PoliceCode.PANIC: (1, 2, None, "一键报警"),
    PoliceCode.TAMPER: (2, 2, 2, "设备防拆报警"),
    PoliceCode.TROUBLE: (3, 6, None, "设备离线"),
    PoliceCode.TROUBLE_RESTORE: (4, 6, None, "设备恢复在线"),
}


def alarm_time(ts_ms: int) -> str:
    """Local time without zone, as the standard's examples (2009-12-04T16:23:32)."""
    return datetime.fromtimestamp(ts_ms / 1000).astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def description(msg: PoliceMessage, ch: Channel) -> str:
    text = CODES[msg.code][3]
    parts = [f"{text}：{ch.name}", f"位置：{ch.location or msg.location or '-'}"]
    if ch.camera_gb_id:
        parts.append(f"联动摄像机：{ch.camera_name}（通道 {ch.camera_gb_id}）")
    return "；".join(parts)


def notify_body(msg: PoliceMessage, ch: Channel, sn: int, charset: str) -> bytes:
    priority, method, alarm_type, _ = CODES[msg.code]
    items: list[tuple[str, object]] = [
        ("CmdType", "Alarm"),
        ("SN", sn),
        ("DeviceID", ch.gb_id),
        ("AlarmPriority", priority),
        ("AlarmMethod", method),
        ("AlarmTime", alarm_time(msg.ts_ms)),
        ("AlarmDescription", description(msg, ch)),
    ]
    if msg.coordinates:
        items += [("Longitude", msg.coordinates[0]), ("Latitude", msg.coordinates[1])]
    if alarm_type is not None:
        items.append(("Info", [("AlarmType", alarm_type)]))
    return manscdp.encode("Notify", items, charset)
