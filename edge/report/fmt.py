"""Formatting and bilingual labels shared by the HTML and CSV renderers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from edge.states import AlarmCategory, AlarmState, DeviceState

VERDICTS = {
    "pass": "合格 pass",
    "ok": "合格 ok",
    "fail": "不合格 fail",
    "short": "不足 short",
    "stalled": "停录 stalled",
    "unverifiable": "无法核验 unverifiable",
    "unknown": "未知 unknown",
    "none": "当日未检测 not checked",
}
FAILURES = {
    "black": "黑屏 black",
    "overexposed": "过曝 overexposed",
    "blurred": "模糊 blurred",
    "frozen": "画面冻结 frozen",
    "covered": "遮挡 covered",
    "colour_cast": "偏色 colour cast",
}
TYPES = {"button": "一键报警 button", "camera": "摄像机 camera", "receiver": "接警链路 police link"}
STATES: dict[str, str] = {
    DeviceState.ONLINE: "在线 online",
    DeviceState.OFFLINE: "离线 offline",
    DeviceState.MAINTENANCE: "维护 maintenance",
    DeviceState.DEGRADED: "部分异常 degraded",
    DeviceState.UNKNOWN: "未知 unknown",
}
CATEGORIES: dict[str, str] = {AlarmCategory.ALARM: "报警 alarm", AlarmCategory.FLAG: "提示 flag"}
GROUPS = {"regular": "一般部位 (30 天) regular", "key_area": "重点部位 (90 天) key area", "all": "合计 all"}
KINDS = {
    "alarm.press": "紧急报警 press",
    "alarm.release": "按钮复位 release",
    "device.tamper": "防拆 tamper",
    "device.online": "上线 online",
    "device.offline": "离线 offline",
    "camera.quality": "图像质量 quality",
    "camera.retention": "录像保存 retention",
    "camera.clock": "时钟 clock",
    "relay.link": "接警链路 link",
}
ALARM_STATES: dict[str, str] = {
    AlarmState.OPEN: "未处理 open",
    AlarmState.ACKNOWLEDGED: "已确认 acknowledged",
    AlarmState.CLOSED: "已关闭 closed",
}
DELIVERY_STATES = {
    "pending": "待发送 pending",
    "sending": "发送中 sending",
    "delivered": "已送达 delivered",
    "failed": "发送失败 failed",
    "rejected": "被拒绝 rejected",
    "none": "未发送 not relayed",
}
# Event payload fields a report may show, in words (everything else stays internal).
FIELDS = {
    "input": "输入 input",
    "reason": "原因 reason",
    "verdict": "结论 verdict",
    "source": "来源 source",
}
# Why a device or link went down, as drivers and the relay record it; unknown codes are shown as recorded.
REASONS = {
    "no_response": "无应答 no response",
    "heartbeat_timeout": "心跳超时 heartbeat timeout",
    "lwt": "设备断线（遗嘱消息）connection lost (last will)",
    "status": "设备报告离线 device reported offline",
    "port_lost": "串口丢失 serial port lost",
    "power": "断电 power lost",
    "timeout": "超时 timeout",
    "auth_failed": "认证失败 authentication failed",
    "unreachable": "无法连接 unreachable",
    "nak": "接收机拒绝 receiver NAK",
}
TEST_RESULTS = {"pass": "通过 PASS", "fail": "不通过 FAIL"}
NO_DATA = "无数据 no data"
ONGOING = "持续中 ongoing"


def label(table: dict[str, str], key: str) -> str:
    return table.get(key, key)


def pct(rate: float | None) -> str:
    """A rate as a percentage with two decimals (the report's stated precision), or no data."""
    return NO_DATA if rate is None else f"{rate * 100:.2f}"


def seconds(ms: int | float | None) -> str:
    """Milliseconds as seconds, without a trailing .0 when whole."""
    if ms is None:
        return ""
    s = ms / 1000
    return f"{s:.0f}" if s == int(s) else f"{s:.3f}".rstrip("0")


def duration(ms: int | float | None) -> str:
    """H:MM:SS (hours may exceed 24)."""
    if ms is None:
        return ""
    total = round(ms / 1000)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def local(ms: int | None, tz: ZoneInfo, with_date: bool = False) -> str:
    if ms is None:
        return ""
    dt = datetime.fromtimestamp(ms / 1000, tz)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def days(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
