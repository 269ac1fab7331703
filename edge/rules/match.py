"""Which rules an event matches, and what they add up to: per field, the first rule that sets it wins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge.config.rules import EscalateSpec, FlagSpec, Rule, When
from edge.events import Event
from edge.relay.message import PoliceCode


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the rules may ask about a device: from the config, or guessed for an unknown device."""

    id: str
    type: str
    name: str
    location: str = ""
    zone: int | None = None
    tags: tuple[str, ...] = ()
    coordinates: tuple[float, float] | None = None
    verify_url: str | None = None


@dataclass
class Outcome:
    relay: tuple[PoliceCode, str] | None = None
    flag: tuple[FlagSpec, str] | None = None
    escalate: tuple[EscalateSpec, str] | None = None
    deferred: list[Rule] = field(default_factory=list)  # `for:` rules that matched; due later
    matched: list[str] = field(default_factory=list)

    def merge(self, rule: Rule) -> None:
        self.matched.append(rule.name)
        then = rule.then
        if self.relay is None and then.relay is not None:
            self.relay = (then.relay, rule.name)
        if self.flag is None and then.flag is not None:
            self.flag = (then.flag, rule.name)
        if self.escalate is None and then.escalate is not None:
            self.escalate = (then.escalate, rule.name)


def _payload_ok(want: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    for key, expected in want.items():
        options = expected if isinstance(expected, list) else [expected]
        have = payload.get(key)
        values = have if isinstance(have, list) else [have]
        if not any(v == o for v in values for o in options):
            return False
    return True


def static_match(when: When, event: Event, info: DeviceInfo, local: datetime, streak: int) -> bool:
    """Every filter except `count` (which needs the rule's history) and `for` (which needs time)."""
    return (
        (when.kind is None or event.kind in when.kind)
        and (when.device is None or event.device_id in when.device)
        and (when.type is None or info.type in when.type)
        and (when.tag is None or any(t in info.tags for t in when.tag))
        and (when.location is None or info.location in when.location)
        and _payload_ok(when.payload, event.payload)
        and (when.consecutive is None or streak >= when.consecutive)
        and when.in_time(local)
    )


def count_key(rule: Rule, device_id: str) -> str:
    return f"{rule.name}|{device_id}"


def count_hit(rule: Rule, device_id: str, now_ms: int, counts: dict[str, tuple[int, ...]]) -> bool:
    """Record this match in the rule's sliding window; True (and reset) when it reaches `at_least`."""
    spec = rule.when.count
    if spec is None:
        return True
    key = count_key(rule, device_id)
    horizon = now_ms - int(spec.within * 1000)
    times = (*(t for t in counts.get(key, ()) if t > horizon), now_ms)
    if len(times) >= spec.at_least:
        counts.pop(key, None)
        return True
    counts[key] = times
    return False


def evaluate(
    rules: Sequence[Rule],
    event: Event,
    info: DeviceInfo,
    local: datetime,
    streak: int,
    now_ms: int,
    counts: dict[str, tuple[int, ...]],
) -> Outcome:
    """Rules in order (site rules, then defaults). `suppress` stops; it never stops a press (validated)."""
    out = Outcome()
    for rule in rules:
        if not static_match(rule.when, event, info, local, streak):
            continue
        if not count_hit(rule, event.device_id, now_ms, counts):
            continue
        if rule.when.hold_for:
            out.deferred.append(rule)
            continue
        out.merge(rule)
        if rule.then.suppress:
            break
    return out
