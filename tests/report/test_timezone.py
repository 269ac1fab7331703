"""The reported day is the site's local day, whatever the UTC date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.events import Event, EventKind
from edge.report import daily, days, load
from edge.report.model import DailyReport
from edge.store import Database
from edge.store.alarms import open_alarm
from edge.store.devices import sync_devices
from edge.store.events import insert_event


def _ms(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000)


def test_shanghai_day_starts_at_1600_utc_the_day_before() -> None:
    start, end = days.day_bounds(date(2026, 11, 21), ZoneInfo("Asia/Shanghai"))
    assert (start, end) == (_ms(2026, 11, 20, 16), _ms(2026, 11, 21, 16))


def test_dst_day_is_23_hours() -> None:
    start, end = days.day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Berlin"))
    assert end - start == 23 * 3_600_000


def test_default_day_is_yesterday_in_site_time() -> None:
    # 2026-11-21 17:00 UTC is already the 22nd in Shanghai, so "yesterday" there is the 21st
    assert days.yesterday(_ms(2026, 11, 21, 17), ZoneInfo("Asia/Shanghai")) == date(2026, 11, 21)
    assert days.yesterday(_ms(2026, 11, 21, 17), ZoneInfo("UTC")) == date(2026, 11, 20)


def _store(path: Path) -> Path:
    db = Database(path)
    sync_devices(db, [{"id": "b1", "type": "button", "name": "按钮", "zone": 1}])
    with db.tx() as conn:
        # 23:59:59.999 local on the 20th: the state in force when the 21st begins, not an event of it
        insert_event(conn, Event(EventKind.DEVICE_OFFLINE, "b1", {"reason": "x"}, ts_ms=_ms(2026, 11, 20, 16) - 1))
        insert_event(conn, Event(EventKind.DEVICE_ONLINE, "b1", {}, ts_ms=_ms(2026, 11, 20, 22)))  # 06:00 local
        for alarm_id, ts in (("edge-in", _ms(2026, 11, 20, 16)), ("edge-out", _ms(2026, 11, 21, 16))):
            open_alarm(conn, alarm_id=alarm_id, event_id=alarm_id, device_id="b1", category="alarm",
                       kind="alarm.press", severity="high", message="", zone=1, location="", test=False,
                       opened_ms=ts)  # fmt: skip
    db.close()
    return path


def _report(path: Path, day: date, tz: str) -> DailyReport:
    start, end = days.day_bounds(day, ZoneInfo(tz))
    return daily.compute(load.load(path, start, end), day, tz, _ms(2027, 1, 1))


def test_local_day_boundaries(tmp_path: Path) -> None:
    path = _store(tmp_path / "edge.db")
    shanghai = _report(path, date(2026, 11, 21), "Asia/Shanghai")
    assert [a.id for a in shanghai.alarms] == ["edge-in"]
    b1 = shanghai.devices[0]
    assert (b1.offline_ms, b1.online_ms, b1.unknown_ms) == (6 * 3_600_000, 18 * 3_600_000, 0)
    assert [(o.start_ms, o.in_day_ms) for o in b1.outages] == [(_ms(2026, 11, 20, 16) - 1, 6 * 3_600_000)]
    # the same store read as a UTC site: the 21st (UTC) holds the other alarm and no outage
    utc = _report(path, date(2026, 11, 21), "UTC")
    assert [a.id for a in utc.alarms] == ["edge-out"]
    assert (utc.devices[0].online_ms, utc.devices[0].offline_ms) == (24 * 3_600_000, 0)


def test_today_is_cut_at_now(tmp_path: Path) -> None:
    path = _store(tmp_path / "edge.db")
    day, tz = date(2026, 11, 21), "Asia/Shanghai"
    start, end = days.day_bounds(day, ZoneInfo(tz))
    now = start + 12 * 3_600_000
    report = daily.compute(load.load(path, start, end), day, tz, now)
    assert report.partial and report.end_ms == now
    assert report.devices[0].online_ms + report.devices[0].offline_ms == 12 * 3_600_000
