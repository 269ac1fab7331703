"""The alarm centre's ranking (DESIGN.md section 12): every alarm object carries a `priority`.

1 = 紧急报警 (panic, tamper): somebody may be in danger; its own list, colour and repeating sound.
2 = 设备故障 (a button, bus, camera or police link that stopped working): the site is partly blind.
3 = 提示 (retention short, image quality, clock): fix during office hours; never beeps.

One pure function decides, from what the store already holds for the alarm (kind, category, the
device's type and the triggering event's payload), so the API, the dashboard and any report agree.
`what` is a stable code for "what happened" that the dashboard words in zh-CN or English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Priority(IntEnum):
    PANIC = 1
    FAULT = 2
    NOTICE = 3


@dataclass(frozen=True, slots=True)
class Ranking:
    priority: Priority
    what: str  # press, tamper, offline, link_down, retention_short, retention_stalled, quality, clock, ...
    reason: str | None  # the device's own reason code when it gave one (heartbeat_timeout, lwt, ...)


# Retention verdicts where the recorder has stopped keeping video at all: a fault, not a shortfall.
_RETENTION_FAULTS = frozenset({"stalled"})
_NOTICE_KINDS = {"camera.quality": "quality", "camera.clock": "clock"}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def rank_alarm(kind: str, category: str, payload: Mapping[str, Any] | None = None) -> Ranking:
    """Priority and "what happened" of one alarm or operator flag.

    `category` is the store's: "alarm" (police-worthy) or "flag". A kind no rule here knows (a site
    rule may flag anything) is never ranked below a fault, and a police-worthy one counts as a panic;
    whatever the police are told of is never a mere notice. Under-ranking a real emergency is the
    one mistake the duty room cannot afford.
    """
    rank = _rank(kind, category, payload or {})
    if category == "alarm" and rank.priority is Priority.NOTICE:
        return Ranking(Priority.FAULT, rank.what, rank.reason)
    return rank


def _rank(kind: str, category: str, p: Mapping[str, Any]) -> Ranking:
    reason = _text(p.get("reason"))
    if kind == "alarm.press":
        return Ranking(Priority.PANIC, "press", None)
    if kind == "device.tamper":
        return Ranking(Priority.PANIC, "tamper", None)
    if kind == "device.offline":
        return Ranking(Priority.FAULT, "offline", reason)
    if kind == "relay.link":
        return Ranking(Priority.FAULT, "link_down", reason)
    if kind == "camera.retention":
        verdict = _text(p.get("verdict")) or "short"
        if verdict in _RETENTION_FAULTS:
            return Ranking(Priority.FAULT, f"retention_{verdict}", reason)
        return Ranking(Priority.NOTICE, f"retention_{verdict}", reason)
    if kind == "patrol.round":  # a missed round leaves a key area unwatched; late or incomplete is a notice
        status = _text(p.get("status")) or "missed"
        return Ranking(Priority.FAULT if status == "missed" else Priority.NOTICE, f"patrol_{status}", reason)
    if kind in _NOTICE_KINDS:
        return Ranking(Priority.NOTICE, _NOTICE_KINDS[kind], reason)
    what = kind or "unknown"
    if category == "alarm":
        return Ranking(Priority.PANIC, what, reason)
    return Ranking(Priority.FAULT, what, reason)
