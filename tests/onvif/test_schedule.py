"""The daily retention schedule in the site's time zone (pure)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from edge.drivers.camera import next_daily

SH = ZoneInfo("Asia/Shanghai")


def test_next_daily_table() -> None:
    cases = [
        (datetime(2026, 11, 22, 1, 0, tzinfo=SH), "03:30", datetime(2026, 11, 22, 3, 30, tzinfo=SH)),
        (datetime(2026, 11, 22, 3, 30, tzinfo=SH), "03:30", datetime(2026, 11, 23, 3, 30, tzinfo=SH)),
        (datetime(2026, 11, 22, 23, 59, tzinfo=SH), "00:00", datetime(2026, 11, 23, 0, 0, tzinfo=SH)),
        (datetime(2026, 12, 31, 12, 0, tzinfo=SH), "03:30", datetime(2027, 1, 1, 3, 30, tzinfo=SH)),
    ]
    for now, hhmm, expected in cases:
        assert next_daily(now, hhmm) == expected, (now, hhmm)
