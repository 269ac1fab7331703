"""What an event says about a device condition: raised or cleared, and why. Pure, payload-tolerant."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.events import Event, EventKind
from edge.rules.state import ALARM_KEY, unchecked_key

# Reasons become device-state reasons and API text: keep them short identifiers.
_SAFE = re.compile(r"[^a-z0-9_]+")
_REASON_MAX = 40

REASON_ZH = {
    "offline": "离线",
    "heartbeat_timeout": "心跳超时",
    "no_response": "无响应",
    "timeout": "超时",
    "auth_failed": "认证失败",
    "unreachable": "无法连接",
    "fault": "设备故障",
    "crc_error": "通信校验错误",
    "link_down": "链路中断",
    "tamper": "防拆触发",
    "clock_drift": "时钟偏差",
    "retention_short": "录像保存天数不足",
    "retention_stalled": "录像已停止",
    "retention_unverifiable": "录像无法核验",
    "quality_black": "黑屏",
    "quality_overexposed": "过曝",
    "quality_blurred": "模糊",
    "quality_frozen": "画面冻结",
    "quality_covered": "遮挡",
    "quality_colour_cast": "偏色",
    "quality_fail": "图像异常",
    "patrol_late": "巡查迟到",
    "patrol_incomplete": "巡查漏点",
    "patrol_missed": "未按时巡查",
    "quality_unchecked": "图像质量无法检查",
    "retention_unchecked": "录像保存无法检查",
    "clock_unchecked": "时钟无法检查",
    "unknown": "无法检查",
    # retention verdicts, as a retention flag's {reason}
    "short": "保存天数不足",
    "stalled": "录像已停止",
    "unverifiable": "无法核验",
}


def reason_id(text: object, default: str) -> str:
    cleaned = _SAFE.sub("_", str(text).lower()).strip("_")[:_REASON_MAX]
    return cleaned or default


def reason_zh(reason: str) -> str:
    return REASON_ZH.get(reason, reason)


@dataclass(frozen=True, slots=True)
class Signal:
    key: str  # the condition: alarm, offline, tamper, quality, retention, clock, link
    raising: bool
    reasons: tuple[str, ...] = ()
    matchable: bool = True  # False for a restore report: rules act on the raise, the engine on the restore


def _verdict(event: Event) -> str | None:
    v = event.payload.get("verdict")
    return str(v).lower() if v is not None else None


def _restore(key: str) -> Signal:
    return Signal(key, raising=False, matchable=False)


def _unchecked(check: str) -> Signal:
    """The check could not be carried out: its own quiet condition, never the check's failure."""
    key = unchecked_key(check)
    return Signal(key, raising=True, reasons=(key,))


def health(event: Event) -> Signal | None:
    """The device's own verdict that comes with `device.online`: degraded (and why), or clean.

    A second signal beside `classify`'s: the event both ends an offline condition and says how well
    the device answers (a camera whose ONVIF replies are garbage is online but degraded)."""
    if event.kind is not EventKind.DEVICE_ONLINE:
        return None
    p = event.payload
    raw = p.get("reasons")
    reasons = tuple(reason_id(r, "degraded") for r in raw) if isinstance(raw, list) else ()
    if str(p.get("state", "online")).lower() == "degraded":
        return Signal("health", raising=True, reasons=reasons or ("degraded",), matchable=False)
    return Signal("health", raising=False, matchable=False)


def classify(event: Event) -> Signal | None:
    """None when the event says nothing about a condition. A camera check that could not be carried
    out (verdict 'unknown', or none) raises `<check>_unchecked` instead."""
    p = event.payload
    match event.kind:
        case EventKind.ALARM_PRESS:
            return Signal(ALARM_KEY, raising=True)
        case EventKind.ALARM_RELEASE:
            return Signal(ALARM_KEY, raising=False)
        case EventKind.DEVICE_TAMPER:
            cleared = str(p.get("state", "active")).lower() in ("restored", "inactive", "clear", "normal")
            if cleared or p.get("active") is False:
                return _restore("tamper")
            return Signal("tamper", raising=True, reasons=("tamper",))
        case EventKind.DEVICE_OFFLINE:
            return Signal("offline", raising=True, reasons=(reason_id(p.get("reason", "offline"), "offline"),))
        case EventKind.DEVICE_ONLINE:
            return Signal("offline", raising=False)
        case EventKind.CAMERA_QUALITY:
            failures = p.get("failures") or []
            verdict = _verdict(event) or ("fail" if failures else None)
            if verdict == "pass":
                return _restore("quality")
            if verdict != "fail":
                return _unchecked("quality")
            names = failures if isinstance(failures, list) and failures else ["fail"]
            return Signal("quality", raising=True, reasons=tuple(f"quality_{reason_id(f, 'fail')}" for f in names))
        case EventKind.CAMERA_RETENTION:
            verdict = _verdict(event)
            if verdict == "pass":
                return _restore("retention")
            if verdict in ("short", "stalled", "unverifiable"):
                return Signal("retention", raising=True, reasons=(f"retention_{verdict}",))
            return _unchecked("retention")
        case EventKind.CAMERA_CLOCK:
            verdict = _verdict(event)
            if verdict in ("pass", "ok"):
                return _restore("clock")
            if verdict in ("fail", "drift"):
                return Signal("clock", raising=True, reasons=("clock_drift",))
            return _unchecked("clock")
        case EventKind.RELAY_LINK:
            state = str(p.get("state", "")).lower()
            if state == "up":
                return _restore("link")
            if state == "down":
                return Signal("link", raising=True, reasons=("link_down",))
            return None
    return None
