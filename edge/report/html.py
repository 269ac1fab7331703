"""HTML rendering: one self-contained, printable (A4) page; Chinese headings with English subtitles."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

from edge.report import fmt, svg
from edge.report.html_patrol import patrol_section
from edge.report.html_sections import alarms_section, definitions, links_section, quality_section, retention_section
from edge.report.html_util import h2, table
from edge.report.model import Availability, DailyReport

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       font-size: 10.5pt; color: #212121; margin: 0 auto; max-width: 190mm; padding: 8mm 0; line-height: 1.45;
       -webkit-print-color-adjust: exact; print-color-adjust: exact; }
header { border-bottom: 2px solid #1a237e; margin-bottom: 4mm; }
h1 { font-size: 18pt; margin: 0; color: #1a237e; }
h1 small, h2 small { font-weight: normal; color: #616161; font-size: 0.62em; margin-left: 0.6em; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; border-left: 4px solid #1a237e; padding-left: 2mm; break-after: avoid; }
.meta { color: #424242; font-size: 9.5pt; margin: 1mm 0 2mm; }
.note { background: #fff8e1; border: 1px solid #ffcc80; padding: 2mm 3mm; margin: 2mm 0; font-size: 9.5pt; }
.empty { color: #757575; font-style: italic; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2mm; }
.card { border: 1px solid #c5cae9; border-radius: 2mm; padding: 2mm 3mm; break-inside: avoid; }
.card .v { font-size: 15pt; font-weight: bold; color: #1a237e; }
.card .k { font-size: 8.5pt; color: #616161; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 1mm 0 3mm; }
th, td { border: 1px solid #d0d0d0; padding: 0.8mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #e8eaf6; font-weight: 600; }
th small { display: block; font-weight: normal; color: #616161; font-size: 0.85em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { break-inside: avoid; }
thead { display: table-header-group; }
.bad { color: #c62828; font-weight: 600; }
.ok { color: #2e7d32; }
figure { margin: 1mm 0 3mm; break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #616161; }
.legend span { display: inline-block; width: 9px; height: 9px; margin: 0 3px 0 10px; vertical-align: middle; }
svg text { fill: #212121; }
footer { margin-top: 6mm; font-size: 8.5pt; color: #757575; border-top: 1px solid #e0e0e0; padding-top: 2mm; }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } }
"""


def _legend() -> str:
    items = "".join(
        f'<span style="background:{svg.COLOURS[k]}"></span>{fmt.label(fmt.STATES, k)}'
        for k in ("online", "offline", "maintenance", "unknown")
    )
    return f'<div class="legend">{items}</div>'


def _cards(r: DailyReport) -> str:
    alarm = r.ack_stats["alarm"]
    total = next(c for c in r.compliance if c.group == "all")
    cards = [
        ("一键报警在线率 button online", _pct_unit(r.type_rates["button"].rate)),
        ("摄像机在线率 camera online", _pct_unit(r.type_rates["camera"].rate)),
        ("录像保存达标 retention pass", f"{total.passed}/{total.required}"),
        ("图像质量异常 quality failing", str(sum(q.failed_checks > 0 for q in r.quality))),
        ("报警 / 未确认 alarms / unacked", f"{alarm.count} / {alarm.unacked}"),
        ("确认用时中位 median ack", _secs(alarm.median_ms)),
        ("最长确认用时 max ack", _secs(alarm.max_ms)),
        ("测试记录 tests", str(len(r.tests))),
    ]
    cards += [(f"接警链路 police link {link.name}", _pct_unit(link.rate)) for link in r.links]
    body = "".join(f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                   for k, v in cards)  # fmt: skip
    return f'<div class="cards">{body}</div>'


def _pct_unit(rate: float | None) -> str:
    return fmt.pct(rate) + (" %" if rate is not None else "")


def _secs(ms: float | None) -> str:
    return "—" if ms is None else f"{fmt.seconds(ms)} s"


def _device_rows(devices: Sequence[Availability]) -> list[list[str]]:
    return [
        [escape(d.name), escape(d.device_id), fmt.label(fmt.TYPES, d.type), escape(d.location),
         _rate_cell(d.rate), fmt.duration(d.offline_ms), fmt.duration(d.maintenance_ms),
         fmt.duration(d.unknown_ms), str(len(d.outages))]
        for d in devices
    ]  # fmt: skip


def _rate_cell(rate: float | None) -> str:
    cls = "ok" if rate is not None and rate >= svg.GOOD else "bad"
    return f'<span class="{cls}">{escape(fmt.pct(rate))}</span>'


def availability_section(r: DailyReport, tz: ZoneInfo) -> str:
    head = h2("设备在线率", "Device online rates")
    if not r.devices:
        return head + f'<p class="empty">{fmt.NO_DATA}: 未登记一键报警或摄像机 no buttons or cameras registered</p>'
    rates = table(
        [("类型", "type"), ("设备数", "devices"), ("在线率 %", "online rate"), ("离线", "offline h:m:s"),
         ("维护", "maintenance"), ("未知", "unknown"), ("中断次数", "outages")],
        [[fmt.label(fmt.TYPES, t.type), str(t.devices), _rate_cell(t.rate), fmt.duration(t.offline_ms),
          fmt.duration(t.maintenance_ms), fmt.duration(t.unknown_ms), str(t.outages)] for t in r.type_rates.values()],
        numeric={1, 2, 3, 4, 5, 6},
    )  # fmt: skip
    figs = (
        f"<figure>{svg.rate_bars(r.devices)}<figcaption>图1 各设备在线率 Fig. 1 online rate per device</figcaption>"
        f"</figure><figure>{svg.state_timeline(r.devices, r.start_ms, r.end_ms, tz)}{_legend()}"
        "<figcaption>图2 设备状态时间线 Fig. 2 device states over the day</figcaption></figure>"
    )
    devices = table(
        [("名称", "name"), ("编号", "id"), ("类型", "type"), ("位置", "location"), ("在线率 %", "online rate"),
         ("离线", "offline"), ("维护", "maintenance"), ("未知", "unknown"), ("中断", "outages")],
        _device_rows(r.devices),
        numeric={4, 5, 6, 7, 8},
    )  # fmt: skip
    return head + rates + figs + devices + outages_section(r, tz)


def outages_section(r: DailyReport, tz: ZoneInfo) -> str:
    head = h2("离线记录", "Outages")
    if not r.outages:
        return head + '<p class="empty">当日无离线 no outages during the day</p>'
    rows = [
        [escape(o.name), escape(o.device_id), fmt.local(o.start_ms, tz, o.start_ms < r.start_ms),
         fmt.ONGOING if o.end_ms is None else fmt.local(o.end_ms, tz), fmt.duration(o.in_day_ms),
         fmt.duration(o.maintenance_ms) if o.maintenance_ms else "", escape(fmt.label(fmt.REASONS, o.reason))]
        for o in r.outages
    ]  # fmt: skip
    return head + table(
        [("设备", "device"), ("编号", "id"), ("开始", "start"), ("结束", "end"), ("当日时长", "in day"),
         ("其中维护", "in maintenance"), ("原因", "reason")], rows, numeric={4, 5},
    )  # fmt: skip


def render_html(r: DailyReport) -> str:
    tz = ZoneInfo(r.timezone)
    site = escape(r.site_name or r.site_id or "")
    notes = []
    if r.partial:
        notes.append(f"统计截至 {fmt.local(r.end_ms, tz, True)}（当日未结束）the day is not over: partial figures")
    notes += [f"数据异常 malformed rows skipped: {escape(n)}" for n in r.notes if n.startswith("bad_payloads")]
    if r.empty:
        notes.append(f"{fmt.NO_DATA}: 存储中没有该日的设备、报警或测试记录 the store holds nothing for this day")
    parts = [
        f'<header><h1>校园安防每日巡检报告<small>Daily inspection report</small></h1><p class="meta">'
        f"学校 site: <b>{site}</b> · 日期 date: <b>{r.day.isoformat()}</b> · 时区 time zone: {escape(r.timezone)}"
        f" · 统计区间 period: {fmt.local(r.start_ms, tz, True)} – {fmt.local(r.end_ms, tz, True)}</p></header>",
        "".join(f'<div class="note">{n}</div>' for n in notes),
        h2("概览", "Summary") + _cards(r),
        availability_section(r, tz),
        retention_section(r, tz),
        quality_section(r),
        alarms_section(r, tz),
        links_section(r, tz),
        patrol_section(r, tz),
        definitions(),
        f"<footer>由 edge 根据本地存储生成 generated by edge from the local store · "
        f"{fmt.local(r.generated_ms, tz, True)} {escape(r.timezone)}</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>每日巡检报告 {r.day.isoformat()} {site}</title><style>{CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
