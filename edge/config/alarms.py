"""The `alarms:` and `device_states:` config sections the engine reads besides `rules:`."""

from __future__ import annotations

from pydantic import Field

from edge.config.rule_types import Duration, PositiveDuration, RulesStrict, Severity
from edge.config.rules import EscalationWebhook


class AlarmSettings(RulesStrict):
    escalate_after: PositiveDuration = Field(
        120.0, description="An alarm not acknowledged this long is escalated (issue 6: default 2 min)"
    )
    escalation: list[EscalationWebhook] = Field(
        default_factory=list, description="Webhooks called for every escalation, e.g. the principal's phone gateway"
    )
    flags_escalate: bool = Field(
        False, description="Also escalate operator flags (not only alarms) that a rule does not give an 'escalate'"
    )


class DeviceStateSettings(RulesStrict):
    hysteresis: Duration = Field(
        20.0,
        description="A device must stay recovered this long before its flag clears and its restore is reported; "
        "going bad again inside it raises nothing new (20 s = the EN 50136 SP6 reporting time)",
    )
    quality_failures: int = Field(
        2, ge=1, le=100, description="Consecutive failed quality checks before a camera is degraded and flagged"
    )
    max_maintenance_minutes: int = Field(
        480, ge=1, le=7 * 24 * 60, description="Upper bound for one maintenance window (a working day by default)"
    )
    default_maintenance_minutes: int = Field(30, ge=1, le=7 * 24 * 60)


__all__ = ["AlarmSettings", "DeviceStateSettings", "Severity"]
