"""`edge report daily [--date D] [-c FILE] [--format html,csv] [--out DIR]`: the inspection report."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.config import Config, ConfigError, load_config
from edge.events import now_ms
from edge.report import csv_out, daily, days, load
from edge.report.html import render_html
from edge.report.model import DailyReport
from edge.report.patrol import with_patrol
from edge.store import StoreError

DEFAULT_CONFIG = "/etc/edge/edge.yaml"
FORMATS = ("html", "csv")


def _formats(value: str) -> list[str]:
    chosen = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"formats are {', '.join(FORMATS)} (comma-separated), not {value!r}")
    return chosen


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"dates are YYYY-MM-DD, not {value!r}") from exc


def build(config: Config, day: date | None, now: int, store: Path | None = None) -> DailyReport:
    """Read the store (read-only) and compute the report for `day` (default: yesterday, site time)."""
    tz = ZoneInfo(config.site.timezone)
    day = day or days.yesterday(now, tz)
    start_ms, end_ms = days.day_bounds(day, tz)
    inp = load.load(
        store or config.storage.path,
        start_ms,
        end_ms,
        key_areas=frozenset(c.id for c in config.cameras if c.key_area),
        site_id=config.site.id,
        site_name=config.site.name,
        retention_days=config.checks.retention_days,
        key_area_retention_days=config.checks.key_area_retention_days,
    )
    report = daily.compute(inp, day, config.site.timezone, now)
    if config.patrol is not None:
        report = with_patrol(report, config.patrol, store or config.storage.path, day, now)
    return report


def write(report: DailyReport, formats: list[str], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"edge-report-{report.day.isoformat()}"
    paths: list[Path] = []
    if "html" in formats:
        path = out_dir / f"{stem}.html"
        path.write_text(render_html(report), encoding="utf-8")
        paths.append(path)
    if "csv" in formats:
        paths += csv_out.write_csv(report, out_dir, stem)
    return paths


def _daily(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    now = now_ms()
    today = datetime.fromtimestamp(now / 1000, ZoneInfo(config.site.timezone)).date()
    if args.date is not None and args.date > today:
        print(f"edge report: {args.date} has not begun yet at the site (today is {today})", file=sys.stderr)
        return 2
    try:
        report = build(config, args.date, now, args.store)
        paths = write(report, args.format, args.out)
    except (StoreError, OSError) as exc:
        print(f"edge report: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="inspection reports / 巡检报告")
    reports = p.add_subparsers(dest="report", required=True)
    d = reports.add_parser("daily", help="daily inspection report / 每日巡检报告")
    d.add_argument("-c", "--config", default=DEFAULT_CONFIG, help=f"YAML config file (default {DEFAULT_CONFIG})")
    d.add_argument("--date", type=_date, default=None, help="YYYY-MM-DD, the site's local day (default yesterday)")
    d.add_argument("--format", type=_formats, default=list(FORMATS), help="html,csv (default both)")
    d.add_argument("--out", type=Path, default=Path(), help="output folder (default the current one)")
    d.add_argument("--store", type=Path, default=None, help="read this SQLite file instead of storage.path")
    d.set_defaults(handler=_daily)
