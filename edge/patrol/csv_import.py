"""Patrol-stick downloads (巡更棒数据) as CSV: the columns found by their header, bad rows reported by line.

Cradle software names its columns differently; these layouts are read (README "Patrol records"):
- 刷卡记录 (Chinese record export): 序号, 巡检员, 巡检点, 卡号, 刷卡时间 (`YYYY-MM-DD HH:MM:SS`);
- raw stick dump (English): Reader, Tag, Date, Time (`YYYY/MM/DD`, `HH:MM:SS`), guard = the stick.
Other names for the same columns are listed in `_ALIASES`. Times are the site's local time. Files
from Windows software are often GBK: UTF-8 (with or without BOM) is tried first, then GB18030.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from edge.config.patrol import Patrol
from edge.patrol.checkin import Checkin, CheckinError, Source, make_checkin

MAX_FILE_BYTES = 20_000_000
MAX_PROBLEMS = 1000

_ALIASES: dict[str, tuple[str, ...]] = {
    "tag": ("卡号", "钮号", "地点钮号", "巡检点卡号", "标签", "tag", "tag id", "card no", "card", "checkpoint tag"),
    "when": ("刷卡时间", "巡检时间", "打卡时间", "时间日期", "datetime", "timestamp"),
    "date": ("日期", "date"),
    "time": ("时间", "time"),
    "guard": ("巡检员", "巡逻员", "巡更员", "人员", "人员名称", "姓名", "guard", "guard id", "guard name"),
    "reader": ("巡检器", "巡更棒", "巡检器号", "机号", "reader", "stick", "device"),
    "note": ("事件", "备注", "event", "note"),
}
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S")


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class CsvError(ValueError):
    """The file as a whole cannot be read (no header with a tag and a time column)."""


def decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise CsvError(f"file larger than {MAX_FILE_BYTES // 1_000_000} MB / 文件过大")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise CsvError("neither UTF-8 nor GBK text / 文件编码无法识别（应为 UTF-8 或 GBK）") from None


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().strip('"').casefold()
        for field, names in _ALIASES.items():
            if key in names and field not in found:
                found[field] = i
    if "tag" not in found:
        raise CsvError(f"no tag column (卡号 / Tag) in the header: {', '.join(header)[:200]}")
    if "when" not in found and not ("date" in found and "time" in found):
        raise CsvError("no time column (刷卡时间, or 日期 + 时间 / Date + Time) in the header")
    return found


def _parse_time(text: str, tz: ZoneInfo) -> float:
    text = " ".join(text.split())
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).timestamp()
        except ValueError:
            continue
    raise CheckinError(f"time {text[:40]!r} is not YYYY-MM-DD HH:MM:SS / 时间格式无法识别")


def parse_csv(text: str, patrol: Patrol, tz: ZoneInfo, now_ms: int) -> tuple[list[Checkin], list[Problem]]:
    """Every good row as a check-in; every bad one as a problem with its line number (1 = header)."""
    rows = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for header in rows:
        if any(cell.strip() for cell in header):
            break
    if header is None:
        raise CsvError("the file is empty / 文件为空")
    cols = _columns(header)
    checkins: list[Checkin] = []
    problems: list[Problem] = []

    def cell(row: list[str], field: str) -> str:
        i = cols.get(field)
        return row[i].strip() if i is not None and i < len(row) else ""

    for row in rows:
        line = rows.line_num
        if not any(c.strip() for c in row):
            continue
        try:
            when = cell(row, "when") or f"{cell(row, 'date')} {cell(row, 'time')}"
            if not when.strip():
                raise CheckinError("no time / 缺少时间")
            reader = cell(row, "reader")
            guard = cell(row, "guard") or (f"巡更棒 {reader}" if reader else "")
            checkins.append(
                make_checkin(
                    patrol,
                    tag=cell(row, "tag"),
                    ts_s=_parse_time(when, tz),
                    guard=guard,
                    note=cell(row, "note"),
                    source=Source.IMPORT,
                    now_ms=now_ms,
                    reader=reader,
                )
            )
        except CheckinError as exc:
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(line, str(exc)))
    return checkins, problems
