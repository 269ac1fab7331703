"""A site's local day in UTC milliseconds: shared by the report and the patrol day view, kept apart from
the report's renderer so the alarm core (whose API shows patrol days) does not load it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """[start, end) of the site's local day in UTC ms; 23 or 25 hours long on a DST change."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def yesterday(now_ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(now_ms / 1000, tz).date() - timedelta(days=1)
