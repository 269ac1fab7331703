"""The built-in rules (issue 6). They run after a site's own rules, so a site rule can refine or
`suppress` them; none of them can be switched off for `alarm.press` (GB 50394). The README lists
them in YAML, and tests/rules/test_rules_config.py checks that the two agree.
"""

from __future__ import annotations

from typing import Any

from edge.config.rules import Rule

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "default-panic",
        "description": "Every real button press: police PANIC with the button's zone, and an operator alarm",
        "when": {"kind": "alarm.press"},
        "then": {
            "relay": "PANIC",
            "flag": {
                "severity": "critical",
                "message": "一键报警：{name}（{location}，防区 {zone}）",
                "message_en": "Panic alarm: {name} ({location}, zone {zone})",
            },
            "escalate": {},
        },
    },
    {
        "name": "default-panic-restore",
        "description": "Button released or reset: PANIC_RESTORE to the police; the operator alarm stays open",
        "when": {"kind": "alarm.release"},
        "then": {"relay": "PANIC_RESTORE"},
    },
    {
        "name": "default-tamper",
        "description": "Tamper: police TAMPER (TAMPER_RESTORE when it clears) and a flag an operator closes",
        "when": {"kind": "device.tamper"},
        "then": {
            "relay": "TAMPER",
            "flag": {
                "severity": "major",
                "message": "防拆报警：{name}（{location}）",
                "message_en": "Tamper: {name} ({location})",
                "latch": True,
            },
        },
    },
    {
        "name": "default-button-offline",
        "description": "A button or bus past its timeout: TROUBLE to the police and a flag; back: TROUBLE_RESTORE",
        "when": {"kind": "device.offline", "type": ["button", "bus"]},
        "then": {
            "relay": "TROUBLE",
            "flag": {
                "severity": "major",
                "message": "报警设备离线：{name}（{location}），原因：{reason}",
                "message_en": "Alarm device offline: {name} ({location}), reason: {reason}",
            },
        },
    },
    {
        "name": "default-camera-offline",
        "description": "A camera offline or refusing our credentials (reason auth_failed)",
        "when": {"kind": "device.offline", "type": "camera"},
        "then": {
            "flag": {
                "severity": "warning",
                "message": "摄像机离线：{name}（{location}），原因：{reason}",
                "message_en": "Camera offline: {name} ({location}), reason: {reason}",
            }
        },
    },
    {
        "name": "default-camera-quality-unchecked",
        "description": "The quality check could not be made (no stream, no frame): a quiet note, not a failure",
        "when": {"kind": "camera.quality", "payload": {"verdict": "unknown"}},
        "then": {
            "flag": {
                "severity": "info",
                "message": "图像质量无法检查：{name}（{location}）",
                "message_en": "Image quality could not be checked: {name} ({location})",
            }
        },
    },
    {
        "name": "default-camera-retention-unchecked",
        "description": "The recorder could not be asked (unreachable, refused, no such recording): not a shortfall",
        "when": {"kind": "camera.retention", "payload": {"verdict": "unknown"}},
        "then": {
            "flag": {
                "severity": "info",
                "message": "录像保存无法检查：{name}（{location}）",
                "message_en": "Video retention could not be checked: {name} ({location})",
            }
        },
    },
    {
        "name": "default-camera-quality",
        "description": "Image quality failed on device_states.quality_failures consecutive checks",
        "when": {"kind": "camera.quality"},
        "then": {
            "flag": {
                "severity": "warning",
                "message": "图像质量异常：{name}（{location}）：{failures}",
                "message_en": "Image quality: {name} ({location}): {failures}",
            }
        },
    },
    {
        "name": "default-camera-retention",
        "description": "Recordings kept fewer days than required (30, key areas 90), stalled or unverifiable",
        "when": {"kind": "camera.retention"},
        "then": {
            "flag": {
                "severity": "warning",
                "message": "录像保存不达标：{name}（{location}）：{reason}",
                "message_en": "Video retention: {name} ({location}): {reason}",
            }
        },
    },
    {
        "name": "default-camera-clock",
        "description": "Camera clock drifted past checks.max_clock_drift",
        "when": {"kind": "camera.clock"},
        "then": {
            "flag": {
                "severity": "warning",
                "message": "摄像机时钟偏差：{name}（{location}）",
                "message_en": "Camera clock drift: {name} ({location})",
            }
        },
    },
    {
        "name": "default-police-link",
        "description": "The link to a police receiver is down: a critical flag that escalates",
        "when": {"kind": "relay.link"},
        "then": {
            "flag": {
                "severity": "critical",
                "message": "报警中心链路中断：{receiver}",
                "message_en": "Police link down: {receiver}",
            },
            "escalate": {},
        },
    },
    {
        "name": "default-patrol",
        "description": "A patrol round late, incomplete or missed: a flag an operator closes (never to the police)",
        "when": {"kind": "patrol.round"},
        "then": {
            "flag": {
                "severity": "warning",
                "message": "巡查记录异常：{name}，{reason}",
                "message_en": "Patrol: {name}, {reason}",
                "latch": True,
            }
        },
    },
]


def default_rules() -> list[Rule]:
    return [Rule.model_validate(r) for r in DEFAULT_RULES]
