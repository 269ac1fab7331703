"""The daily report's patrol section: every plan's rounds for the day, from the store read-only."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.config.patrol import Patrol
from edge.patrol.day import judge
from edge.report.load import open_readonly
from edge.report.model import DailyReport
from edge.store import StoreError
from edge.store.patrol import CHECKINS_BETWEEN, from_rows


def with_patrol(report: DailyReport, patrol: Patrol, path: Path, day: date, now_ms: int) -> DailyReport:
    tz = ZoneInfo(report.timezone)
    conn = open_readonly(path)
    try:
        cur = conn.execute(CHECKINS_BETWEEN, {"start": report.start_ms, "end": report.end_ms})
        cols = [c[0] for c in cur.description or ()]
        stored = from_rows([dict(zip(cols, row, strict=True)) for row in cur.fetchall()])
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):  # a store from before patrol records: nothing walked yet
            raise StoreError(f"cannot read patrol records from {path}: {exc}") from exc
        stored = []
    finally:
        conn.close()
    return dataclasses.replace(
        report,
        patrol=tuple(judge(patrol, day, tz, stored, now_ms)),
        patrol_problems=tuple(c for c in stored if c.note or c.has_photo),
        patrol_names={cp.id: cp.name for cp in patrol.checkpoints},
    )
