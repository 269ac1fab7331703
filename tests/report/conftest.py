from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.report import daily, days, load
from edge.report.model import DailyReport
from tests.report import scripted

# "Now" for the report: long after the scripted day, so the day is complete.
LATER_MS = scripted.at(12, day=3)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return scripted.fill(tmp_path / "edge.db")


def report_for(path: Path, key_areas: frozenset[str] = frozenset()) -> DailyReport:
    start, end = days.day_bounds(scripted.DAY, ZoneInfo(scripted.TZ))
    inp = load.load(path, start, end, key_areas=key_areas, site_id="sch-0001", site_name="第一实验小学")
    return daily.compute(inp, scripted.DAY, scripted.TZ, LATER_MS)


@pytest.fixture
def report(store: Path) -> DailyReport:
    return report_for(store)
