"""The daily report's figures for the scripted day, asserted exactly."""

from __future__ import annotations

from pathlib import Path

from edge.events import Event, EventKind
from edge.report import fmt
from edge.report.model import Availability, DailyReport
from edge.store import Database
from edge.store.devices import sync_devices
from edge.store.events import insert_event
from tests.report import scripted
from tests.report.conftest import report_for

H = 3_600_000  # one hour in ms
MIN = 60_000


def _dev(report: DailyReport, device_id: str) -> Availability:
    return next(d for d in (*report.devices, *report.links) if d.device_id == device_id)


def test_period_is_the_local_day(report: DailyReport) -> None:
    assert report.start_ms == scripted.START_MS
    assert report.end_ms == scripted.START_MS + 24 * H
    assert not report.partial


def test_button_online_rates(report: DailyReport) -> None:
    a = _dev(report, "btn-a")
    assert (a.online_ms, a.offline_ms, a.maintenance_ms, a.unknown_ms) == (22.5 * H, 1.5 * H, 0, 0)
    assert fmt.pct(a.rate) == "93.75"
    m = _dev(report, "btn-m")  # 2 h maintenance excluded; its 09:30-10:00 outage falls inside it
    assert (m.online_ms, m.offline_ms, m.maintenance_ms) == (21 * H + 40 * MIN, 20 * MIN, 2 * H)
    assert fmt.pct(m.rate) == "98.48"
    n = _dev(report, "btn-n")  # no state before 06:00: unknown, not online
    assert (n.online_ms, n.offline_ms, n.unknown_ms) == (18 * H, 0, 6 * H)
    assert fmt.pct(n.rate) == "100.00"
    buttons = report.type_rates["button"]
    assert (buttons.devices, buttons.online_ms, buttons.offline_ms, buttons.outages) == (3, 223_800_000, 6_600_000, 4)
    assert fmt.pct(buttons.rate) == "97.14"


def test_camera_online_rates(report: DailyReport) -> None:
    assert fmt.pct(_dev(report, "cam-a").rate) == "100.00"
    b = _dev(report, "cam-b")
    assert (b.online_ms, b.offline_ms) == (22 * H, 2 * H)
    assert fmt.pct(b.rate) == "91.67"
    assert fmt.pct(_dev(report, "cam-k").rate) == "95.83"
    cams = report.type_rates["camera"]
    assert (cams.online_ms, cams.offline_ms, cams.unknown_ms) == (69 * H, 3 * H, 0)
    assert fmt.pct(cams.rate) == "95.83"


def test_outages(report: DailyReport) -> None:
    got = [(o.device_id, o.start_ms, o.end_ms, o.in_day_ms, o.maintenance_ms, o.reason) for o in report.outages]
    assert got == [
        # camera B's outage began at 22:00 the day before (the 23:30 report was a repeat), 2 h of it in the day
        ("cam-b", scripted.at(22, day=-1), scripted.at(2), 2 * H, 0, "no_response"),
        ("btn-a", scripted.at(1), scripted.at(1, 30), 30 * MIN, 0, "no_response"),
        ("btn-m", scripted.at(9, 30), scripted.at(10), 30 * MIN, 30 * MIN, "power"),  # during maintenance
        ("btn-a", scripted.at(13), scripted.at(14), H, 0, "heartbeat_timeout"),
        ("btn-m", scripted.at(15), scripted.at(15, 20), 20 * MIN, 0, "no_response"),
        ("cam-k", scripted.at(23), None, H, 0, "no_response"),  # ongoing at the day's end
    ]


def test_retention_and_compliance(report: DailyReport) -> None:
    got = {r.device_id: (r.key_area, r.verdict, r.retained_days, r.required_days, r.shortfall_days)
           for r in report.retention}  # fmt: skip
    assert got == {
        "cam-a": (False, "short", 29, 30, 1),  # the day's verdict, not the day before's pass
        "cam-b": (False, "pass", 31, 30, 0),  # the latest of the day's two checks
        "cam-k": (True, "short", 60, 90, 30),
    }
    groups = {c.group: (c.required, c.passed, c.short, c.unverified) for c in report.compliance}
    assert groups == {"regular": (2, 1, 1, 0), "key_area": (1, 0, 1, 0), "all": (3, 1, 2, 0)}


def test_key_area_from_config(store: Path) -> None:
    report = report_for(store, key_areas=frozenset({"cam-a"}))
    groups = {c.group: (c.required, c.passed, c.short) for c in report.compliance}
    assert groups == {"regular": (1, 1, 0), "key_area": (2, 0, 2), "all": (3, 1, 2)}


def test_quality(report: DailyReport) -> None:
    got = {q.device_id: (q.checks, q.failed_checks, q.failures, q.last_verdict) for q in report.quality}
    assert got == {
        "cam-a": (3, 2, {"blurred": 2}, "pass"),
        "cam-b": (1, 0, {}, "pass"),  # the next day's frozen frame is not this day's
        "cam-k": (1, 1, {"black": 1, "covered": 1}, "fail"),
    }


def test_alarms_and_ack_times(report: DailyReport) -> None:
    assert [a.id for a in report.alarms] == ["al-1", "al-t", "al-2", "al-3", "fl-1"]
    alarm = report.ack_stats["alarm"]  # the test alarm's 20 s does not count
    assert (alarm.count, alarm.acked, alarm.unacked, alarm.median_ms, alarm.max_ms) == (3, 2, 1, 87_500, 130_000)
    flag = report.ack_stats["flag"]
    assert (flag.count, flag.acked, flag.unacked, flag.median_ms, flag.max_ms) == (1, 1, 0, 300_000, 300_000)


def test_tests_performed(report: DailyReport) -> None:
    got = [(t.ts_ms, t.device_id, t.source, t.kind) for t in report.tests]
    assert got == [
        (scripted.at(9, 45), "btn-m", "alarm", "alarm.press"),
        (scripted.at(9, 45), "btn-m", "event", "alarm.press"),
    ]


def test_police_link_availability(report: DailyReport) -> None:
    primary = _dev(report, "receiver-192.0.2.110-12000")
    assert (primary.online_ms, primary.offline_ms, primary.unknown_ms) == (23 * H + 50 * MIN, 10 * MIN, 0)
    assert fmt.pct(primary.rate) == "99.31"
    assert [(o.start_ms, o.end_ms, o.in_day_ms, o.reason) for o in primary.outages] == [
        (scripted.at(20), scripted.at(20, 10), 10 * MIN, "timeout")
    ]
    backup = _dev(report, "receiver-192.0.2.111-12000")
    assert (backup.online_ms, backup.unknown_ms) == (21 * H, 3 * H)
    assert fmt.pct(backup.rate) == "100.00"


def test_segments_cover_the_day_exactly(report: DailyReport) -> None:
    for d in (*report.devices, *report.links):
        assert d.segments[0].start_ms == report.start_ms and d.segments[-1].end_ms == report.end_ms
        assert all(a.end_ms == b.start_ms for a, b in zip(d.segments, d.segments[1:], strict=False))
        assert d.online_ms + d.offline_ms + d.maintenance_ms + d.unknown_ms == report.end_ms - report.start_ms


def test_reproducible(store: Path) -> None:
    assert report_for(store) == report_for(store)


def test_state_changes_in_commit_order_after_a_stall(tmp_path: Path) -> None:
    """Issue 12 item 6: after a stall the loop declared a button offline (committed first) while the MQTT
    thread had already stamped the heartbeat that brings it back (committed second, earlier time). The
    report follows the commit order: the button was briefly offline and is back, not "offline, ongoing"."""
    path = tmp_path / "edge.db"
    db = Database(path)
    sync_devices(db, [{"id": "btn-s", "type": "button", "name": "食堂一键报警", "location": "食堂", "zone": 4}])
    resumed = scripted.at(10)
    with db.tx() as conn:
        for kind, ts, payload in (
            ("device.online", scripted.at(8), {}),
            ("device.offline", resumed + 2, {"reason": "heartbeat_timeout"}),
            ("device.online", resumed + 1, {}),  # stamped before the offline, committed after it
        ):
            insert_event(conn, Event(EventKind(kind), "btn-s", payload, ts_ms=ts, site="sch-0001"))
    db.close()
    report = report_for(path)
    [outage] = report.outages
    assert (outage.device_id, outage.start_ms, outage.end_ms) == ("btn-s", resumed + 2, resumed + 2)
    dev = _dev(report, "btn-s")
    assert dev.segments[-1].state == "online" and dev.offline_ms == 0
