"""What the rules hand the relay: one police report, transport-neutral.

The code table is the external contract of DESIGN.md section 5 (Contact ID event / SIA code).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PoliceCode(Enum):
    """(Contact ID qualifier+event, SIA code). Qualifier 1 = new event, 3 = restore."""

    PANIC = ("1120", "PA")
    PANIC_RESTORE = ("3120", "PH")
    TAMPER = ("1137", "TA")
    TAMPER_RESTORE = ("3137", "TR")
    TROUBLE = ("1380", "PT")
    TROUBLE_RESTORE = ("3380", "PJ")
    TEST_MANUAL = ("1601", "RX")
    TEST_PERIODIC = ("1602", "RP")

    @property
    def cid(self) -> str:
        return self.value[0]

    @property
    def sia(self) -> str:
        return self.value[1]

    @property
    def is_alarm(self) -> bool:
        """Codes that dispatch police; they never give up and go ahead of everything else."""
        return self in (PoliceCode.PANIC, PoliceCode.TAMPER)


# Lower sends first. Alarms are never queued behind restores, trouble or test traffic.
PRIORITY_ALARM = 0
PRIORITY_RESTORE = 1
PRIORITY_OTHER = 2


@dataclass(frozen=True, slots=True)
class PoliceMessage:
    event_id: str
    device_id: str
    code: PoliceCode
    zone: int  # the button's configured zone; 0 for site-level reports
    ts_ms: int
    test: bool = False
    location: str = ""
    coordinates: tuple[float, float] | None = None  # (x = longitude, y = latitude) for DC-09 [X][Y]
    verify_url: str | None = None  # DC-09 [V]

    @property
    def priority(self) -> int:
        if self.code.is_alarm and not self.test:
            return PRIORITY_ALARM
        if self.code in (PoliceCode.PANIC_RESTORE, PoliceCode.TAMPER_RESTORE):
            return PRIORITY_RESTORE
        return PRIORITY_OTHER
