"""HTML and CSV renderings: self-contained, bilingual, with the computed figures; an empty store renders too."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.commands.report import write
from edge.report import daily, days, load
from edge.report.html import render_html
from edge.report.model import DailyReport
from edge.store import Database


def test_html_is_self_contained(report: DailyReport) -> None:
    page = render_html(report)
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(link|script|img|iframe)\b|@import|url\(|\bsrc=", page, re.IGNORECASE)
    assert "@page { size: A4" in page and page.count("<svg") == 3


def test_html_shows_the_figures(report: DailyReport) -> None:
    page = render_html(report)
    for text in ("校园安防每日巡检报告", "Daily inspection report", "第一实验小学", "2026-11-21", "97.14 %", "95.83 %",
                 "93.75", "98.48", "91.67", "99.31", "87.5 s", "130 s", "1/3", "不足 short", "持续中 ongoing",
                 "2026-11-20 22:00:00", "模糊 blurred ×2", "未确认 unacked", "24:00"):  # fmt: skip
        assert text in page, text


def test_csv_has_bom_and_figures(report: DailyReport, tmp_path: Path) -> None:
    paths = write(report, ["csv"], tmp_path)
    names = [p.name for p in paths]
    assert names == [f"edge-report-2026-11-21-{t}.csv" for t in ("summary", "devices", "outages", "alarms", "tests")]
    for p in paths:
        assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    summary = {row[0]: row[2] for row in csv.reader(paths[0].open(encoding="utf-8-sig"))}
    assert summary["button_online_rate"] == "97.14"
    assert summary["camera_online_rate"] == "95.83"
    assert summary["retention_key_area"] == "0/1"
    assert summary["alarm_ack_median"] == "87.5" and summary["alarm_ack_max"] == "130"
    assert summary["alarm_unacked"] == "1" and summary["tests"] == "2"
    assert summary["link_availability:receiver-192.0.2.110-12000"] == "99.31"
    devices = {row[0]: row for row in csv.reader(paths[1].open(encoding="utf-8-sig"))}
    assert devices["cam-k"][4] == "95.83" and devices["cam-k"][10:15] == ["yes", "short", "60", "90", "30"]
    assert devices["btn-m"][5:9] == ["78000", "1200", "7200", "0"]
    outages = list(csv.reader(paths[2].open(encoding="utf-8-sig")))
    assert ["cam-k", "camera", "校门重点", "2026-11-21 23:00:00", "ongoing", "3600", "0", "no_response"] in outages


def test_empty_store_renders_no_data(tmp_path: Path) -> None:
    Database(tmp_path / "edge.db").close()
    day, tz = date(2026, 11, 21), "Asia/Shanghai"
    start, end = days.day_bounds(day, ZoneInfo(tz))
    report = daily.compute(load.load(tmp_path / "edge.db", start, end), day, tz, end + 1)
    assert report.empty and report.type_rates["button"].rate is None
    page = render_html(report)
    assert "无数据 no data" in page and "<svg" in page
    paths = write(report, ["html", "csv"], tmp_path / "out")
    assert len(paths) == 6 and all(p.stat().st_size > 0 for p in paths)
