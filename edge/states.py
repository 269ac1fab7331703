"""The one definition of device and alarm state names, for the rules, the store, the API and the dashboard.

They are StrEnums: a member is its own wire and column value (`DeviceState.ONLINE == "online"`), so
SQL parameters, JSON and the API schema use them as they are. The dashboard's labels are checked
against them (tests/api/test_states.py), so a new state cannot ship without its text.
"""

from __future__ import annotations

from enum import StrEnum


class DeviceState(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"  # never heard from


class AlarmState(StrEnum):
    """open -> acknowledged -> closed; only a person closes an alarm (a flag also closes on recovery)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class AlarmCategory(StrEnum):
    ALARM = "alarm"  # a press: police-worthy, never closed automatically
    FLAG = "flag"  # a condition for the duty operator (offline, tamper, a failed check)
