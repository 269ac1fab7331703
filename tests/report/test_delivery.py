"""Press -> police delivery time, test results and plain words in the daily report (#14 technicians)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.events import Event, EventKind
from edge.report.html import render_html
from edge.store import Database
from edge.store.events import insert_event
from tests.report import scripted
from tests.report.conftest import report_for


def _outbox(path: Path, event_id: str, state: str, acked_ms: int | None, transport: str = "dc09") -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO outbox (event_id, transport, message, created_ms, state, receiver, acked_ms) "
            "VALUES (?, ?, '', 0, ?, ?, ?)",
            (event_id, transport, state, scripted.PRIMARY, acked_ms),
        )


def _test_press_id(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        (event_id,) = conn.execute("SELECT id FROM events WHERE test = 1 AND kind = 'alarm.press'").fetchone()
    return str(event_id)


def test_alarm_rows_and_stats_carry_press_to_police_time(store: Path) -> None:
    _outbox(store, "ev-al-1", "delivered", scripted.at(8) + 350)
    _outbox(store, "ev-al-1", "delivered", scripted.at(8) + 90, transport="webhook")  # not the police
    _outbox(store, "ev-al-2", "delivered", scripted.at(16) + 1250)
    _outbox(store, "ev-al-3", "pending", None)
    report = report_for(store)
    by_id = {a.id: a for a in report.alarms}
    assert by_id["al-1"].delivery_ms == 350 and by_id["al-2"].delivery_ms == 1250
    assert by_id["al-3"].delivery_ms is None
    stats = report.ack_stats["alarm"]
    assert stats.delivery_median_ms == 800 and stats.delivery_max_ms == 1250
    page = render_html(report)
    assert "送达接警用时" in page and "press → police" in page and "1.25 s" in page


def test_a_test_press_the_police_never_acked_is_failed(store: Path) -> None:
    report = report_for(store)
    (press,) = [t for t in report.tests if t.source == "event" and t.kind == "alarm.press"]
    assert press.result == "fail" and "未送达接警中心" in press.detail and "未发送 not relayed" in press.detail
    page = render_html(report)
    assert '<span class="bad">不通过 FAIL</span>' in page


def test_a_delivered_test_press_passes_with_its_time(store: Path) -> None:
    _outbox(store, _test_press_id(store), "delivered", scripted.at(9, 45) + 420)
    (press,) = [t for t in report_for(store).tests if t.source == "event" and t.kind == "alarm.press"]
    assert press.result == "pass" and "0.42 s" in press.detail


def test_no_raw_values_in_test_details(store: Path) -> None:
    db = Database(store)
    try:
        with db.tx() as conn:
            payload = {"input": "discrete_input:0", "device_ts": None, "mid": 7}
            ev = Event(EventKind("alarm.press"), "btn-a", payload, ts_ms=scripted.at(10), site="sch-0001", test=True)
            insert_event(conn, ev)
    finally:
        db.close()
    report = report_for(store)
    details = " | ".join(t.detail for t in report.tests)
    assert "None" not in details and "device_ts" not in details and "=" not in details and "mid" not in details
    assert "输入 input discrete_input:0" in details
    alarm_details = [t.detail for t in report.tests if t.source == "alarm"]
    assert alarm_details == ["报警 alarm · 已确认 acknowledged"]


def test_html_verdicts_and_reasons_in_words(store: Path) -> None:
    page = render_html(report_for(store))
    assert "心跳超时 heartbeat timeout" in page and "无应答 no response" in page
    assert "不合格 fail" in page  # cam-k's last quality verdict
    assert ">heartbeat_timeout<" not in page and ">fail<" not in page and ">no_response<" not in page
