"""Rule config models: `when` an event matches, `then` relay / flag / escalate / suppress (README, "Rules")."""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from edge.config.rule_types import (
    DeviceType,
    Duration,
    OneOrMany,
    PositiveDuration,
    RulesPath,
    RulesStrict,
    Severity,
)
from edge.events import EventKind
from edge.relay.message import PoliceCode

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Placeholders a message may use; the engine fills them from the device and the event.
PLACEHOLDERS = frozenset({"name", "location", "zone", "device", "reason", "failures", "receiver", "kind", "severity"})
_CLOCK = r"^(?:[01]\d|2[0-3]):[0-5]\d$"


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class TimeWindow(RulesStrict):
    """Local time (site.timezone). `to` earlier than `from` runs across midnight; the weekday is the start's."""

    start: str = Field(alias="from", pattern=_CLOCK, description="HH:MM, inclusive")
    end: str = Field(alias="to", pattern=r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$", description="HH:MM or 24:00")
    weekdays: Annotated[list[Weekday], OneOrMany] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("'from' and 'to' are equal: the window is empty (use 00:00 to 24:00 for a whole day)")
        return self

    def contains(self, local: datetime) -> bool:
        now = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        if start < end:
            return start <= now < end and WEEKDAYS[local.weekday()] in self.weekdays
        if now >= start:  # evening part of a window across midnight
            return WEEKDAYS[local.weekday()] in self.weekdays
        if now < end:  # morning part: it belongs to the day the window started
            return WEEKDAYS[(local - timedelta(days=1)).weekday()] in self.weekdays
        return False


class CountWindow(RulesStrict):
    at_least: int = Field(ge=2, le=1000, description="Matching events (same device) needed ...")
    within: PositiveDuration = Field(description="... within this sliding window")


Scalar = str | int | float | bool


class When(RulesStrict):
    kind: Annotated[list[EventKind] | None, OneOrMany] = Field(None, description="Event kinds; omitted = any")
    device: Annotated[list[str] | None, OneOrMany] = Field(None, description="Device ids")
    type: Annotated[list[DeviceType] | None, OneOrMany] = Field(None, description="Device types")
    tag: Annotated[list[str] | None, OneOrMany] = Field(None, description="Any of these device tags")
    location: Annotated[list[str] | None, OneOrMany] = Field(None, description="Device locations, exact")
    payload: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Payload keys that must equal (or be one of / intersect) the values"
    )
    time: Annotated[list[TimeWindow], OneOrMany] = Field(default_factory=list, description="Any of these windows")
    hold_for: Duration | None = Field(None, alias="for", description="The condition must persist this long")
    count: CountWindow | None = None
    consecutive: int | None = Field(None, ge=1, le=1000, description="Consecutive failed checks in a row")

    def in_time(self, local: datetime) -> bool:
        return not self.time or any(w.contains(local) for w in self.time)


def _check_template(text: str) -> str:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise ValueError(f"bad message template: {exc}") from exc
    unknown = {f for f in fields if f not in PLACEHOLDERS}
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")
    return text


class FlagSpec(RulesStrict):
    severity: Severity = "warning"
    message: str = Field(min_length=1, max_length=200, description="Chinese text for the duty operator")
    message_en: str = Field("", max_length=200, description="Optional English text")
    latch: bool = Field(False, description="Stays open until an operator closes it, even after the device recovers")

    @field_validator("message", "message_en")
    @classmethod
    def _templates(cls, v: str) -> str:
        return _check_template(v)


class EscalationWebhook(RulesStrict):
    url: str
    secret_file: RulesPath | None = Field(None, description="HMAC-SHA256 key for the X-Edge-Signature header")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return v


class EscalateSpec(RulesStrict):
    after: PositiveDuration | None = Field(None, description="Default: alarms.escalate_after")
    severity: Severity | None = Field(None, description="Default: one step above the alarm's severity")
    webhooks: list[EscalationWebhook] = Field(default_factory=list, description="Extra; alarms.escalation too")


def _police_code(value: Any) -> Any:
    """Accept the code's name (PANIC, trouble_restore), its Contact ID (1120) or its SIA code (PA)."""
    if isinstance(value, PoliceCode):
        return value
    text = str(value).strip()
    for code in PoliceCode:
        if text.upper() in (code.name, code.sia) or text == code.cid:
            return code
    raise ValueError(f"unknown police code {value!r}; one of {[c.name for c in PoliceCode]}")


class Then(RulesStrict):
    relay: PoliceCode | None = Field(None, description="Report to the police with this code")
    flag: FlagSpec | None = None
    escalate: EscalateSpec | None = None
    suppress: bool = Field(False, description="Stop: later rules and the defaults do not see this event")

    @field_validator("relay", mode="before")
    @classmethod
    def _code(cls, v: Any) -> Any:
        return None if v is None else _police_code(v)

    @model_validator(mode="after")
    def _something(self) -> Then:
        if self.relay is None and self.flag is None and self.escalate is None and not self.suppress:
            raise ValueError("'then' needs at least one of relay, flag, escalate, suppress")
        return self


class Rule(RulesStrict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    description: str = ""
    when: When = When()
    then: Then

    @model_validator(mode="after")
    def _gb50394(self) -> Rule:
        """An emergency alarm is always relayed at once (GB 50394): rules cannot hide or delay a press."""
        kinds = self.when.kind
        covers_press = kinds is None or EventKind.ALARM_PRESS in kinds
        if self.then.suppress and covers_press:
            raise ValueError("suppress cannot apply to alarm.press (GB 50394); list the kinds it is for")
        if self.then.suppress and self.when.hold_for:
            raise ValueError("'for' and suppress do not combine: a delayed rule cannot hide the event")
        if kinds is not None and EventKind.ALARM_PRESS in kinds:
            if self.when.hold_for:
                raise ValueError("'for' cannot delay alarm.press: an emergency alarm is relayed at once")
            if self.then.relay not in (None, PoliceCode.PANIC):
                raise ValueError("alarm.press can only be relayed as PANIC")
        return self
