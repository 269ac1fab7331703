"""Inline SVG charts for the HTML report: online-rate bars, state timelines, the alarm timeline.

Plain SVG strings (no xmlns: inline SVG in HTML5 needs none, and the page holds no URL at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from edge.report import fmt
from edge.report.model import AlarmRow, Availability

WIDTH = 680  # px of the viewBox: the printable width of A4 portrait at 96 dpi, less margins
LABEL_W = 170  # room for a device name of ~12 CJK characters
ROW_H = 16
COLOURS = {"online": "#2e7d32", "offline": "#c62828", "maintenance": "#1565c0", "unknown": "#bdbdbd"}
# Online-rate bar colours: ≥ 99 % good, ≥ 95 % watch, below that poor (the 四个100% target is 100 %).
GOOD, WATCH = 0.99, 0.95


def _bar_colour(rate: float | None) -> str:
    if rate is None:
        return COLOURS["unknown"]
    return COLOURS["online"] if rate >= GOOD else "#ef6c00" if rate >= WATCH else COLOURS["offline"]


def _name(text: str, limit: int = 14) -> str:
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _svg(height: int, body: list[str], title: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}" '
        f'font-size="11">{"".join(body)}</svg>'
    )


def rate_bars(devices: Sequence[Availability]) -> str:
    """One horizontal bar per device: its online rate, 0 to 100 %."""
    span = WIDTH - LABEL_W - 70
    body = []
    for i, d in enumerate(devices):
        y = i * ROW_H
        w = 0.0 if d.rate is None else span * d.rate
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">{_name(d.name)}</text>')
        body.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{span}" height="{ROW_H - 5}" fill="#eeeeee"/>')
        body.append(
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 5}" fill="{_bar_colour(d.rate)}">'
            f"<title>{escape(d.device_id)}: {fmt.pct(d.rate)} %</title></rect>"
        )
        value = fmt.pct(d.rate) + (" %" if d.rate is not None else "")
        body.append(f'<text x="{LABEL_W + span + 6}" y="{y + 12}">{escape(value)}</text>')
    return _svg(max(1, len(devices)) * ROW_H + 4, body, "在线率 online rate")


def _hour_axis(start_ms: int, end_ms: int, tz: ZoneInfo, top: int, bottom: int) -> list[str]:
    """Gridlines and labels every 3 local hours across [start_ms, end_ms)."""
    span = WIDTH - LABEL_W - 10
    body = []
    hour_ms = 3_600_000
    first = start_ms + (-start_ms % hour_ms)
    for ts in range(first, end_ms + 1, hour_ms):
        hour = datetime.fromtimestamp(ts / 1000, tz).hour
        if hour % 3:
            continue
        x = LABEL_W + span * (ts - start_ms) / max(1, end_ms - start_ms)
        last = ts == end_ms and hour == 0  # the day's closing midnight reads 24:00, kept inside the chart
        text, anchor = ("24:00", "end") if last else (f"{hour:02d}:00", "middle")
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#999" stroke-width="0.4"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 12}" text-anchor="{anchor}">{text}</text>')
    return body


def _x(ts: int, start_ms: int, end_ms: int) -> float:
    span = WIDTH - LABEL_W - 10
    return LABEL_W + span * (min(max(ts, start_ms), end_ms) - start_ms) / max(1, end_ms - start_ms)


def state_timeline(devices: Sequence[Availability], start_ms: int, end_ms: int, tz: ZoneInfo) -> str:
    """One lane per device, coloured by state over the day: where the outages and maintenance were."""
    body = []
    for i, d in enumerate(devices):
        y = i * ROW_H
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">{_name(d.name)}</text>')
        for seg in d.segments:
            x0, x1 = _x(seg.start_ms, start_ms, end_ms), _x(seg.end_ms, start_ms, end_ms)
            body.append(
                f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 0.5):.1f}" height="{ROW_H - 5}" '
                f'fill="{COLOURS[seg.state]}"><title>{escape(d.device_id)} {fmt.label(fmt.STATES, seg.state)} '
                f"{fmt.local(seg.start_ms, tz)}–{fmt.local(seg.end_ms, tz)}</title></rect>"
            )
    bottom = max(1, len(devices)) * ROW_H
    body += _hour_axis(start_ms, end_ms, tz, 0, bottom)
    return _svg(bottom + 16, body, "状态时间线 state timeline")


def alarm_timeline(alarms: Sequence[AlarmRow], start_ms: int, end_ms: int, tz: ZoneInfo) -> str:
    """Alarms, flags and tests on the day's time axis; filled = acknowledged, hollow red = never acknowledged."""
    lanes = [("alarm", "报警 alarm"), ("flag", "提示 flag"), ("test", "测试 test")]
    body = []
    for i, (_, title) in enumerate(lanes):
        y = i * 20 + 12
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 4}" text-anchor="end">{title}</text>')
        body.append(f'<line x1="{LABEL_W}" y1="{y}" x2="{WIDTH - 10}" y2="{y}" stroke="#ccc"/>')
    for a in alarms:
        lane = 2 if a.test else 0 if a.category == "alarm" else 1
        x, y = _x(a.opened_ms, start_ms, end_ms), lane * 20 + 12
        acked = a.ack_ms is not None
        style = (
            f'fill="{COLOURS["online"]}"' if acked else f'fill="white" stroke="{COLOURS["offline"]}" stroke-width="2"'
        )
        ack = f"{fmt.seconds(a.ack_ms)} s" if acked else "未确认 unacknowledged"
        body.append(
            f'<circle cx="{x:.1f}" cy="{y}" r="5" {style}><title>{fmt.local(a.opened_ms, tz)} '
            f"{escape(a.device_id)} {escape(a.kind)}: {escape(ack)}</title></circle>"
        )
    body += _hour_axis(start_ms, end_ms, tz, 0, len(lanes) * 20 + 2)
    return _svg(len(lanes) * 20 + 18, body, "报警时间线 alarm timeline")
