"""CSV rendering: a summary and per-device, outage, alarm and test rows; UTF-8 with BOM for Excel."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.report import fmt
from edge.report.model import Availability, DailyReport, Quality, Retention

# Excel opens a CSV as the local ANSI code page unless it starts with a BOM; utf-8-sig writes one.
ENCODING = "utf-8-sig"


def summary_rows(r: DailyReport) -> list[list[str]]:
    tz = ZoneInfo(r.timezone)
    rows = [
        ["site", "学校 site", r.site_name or r.site_id, ""],
        ["date", "日期 date", r.day.isoformat(), r.timezone],
        ["period_start", "统计起 period start", fmt.local(r.start_ms, tz, True), r.timezone],
        ["period_end", "统计止 period end", fmt.local(r.end_ms, tz, True), r.timezone],
        ["partial", "未满一天 partial day", "yes" if r.partial else "no", ""],
    ]
    for t in r.type_rates.values():
        rows += [
            [f"{t.type}_devices", f"{fmt.label(fmt.TYPES, t.type)} 数量 count", str(t.devices), ""],
            [f"{t.type}_online_rate", f"{fmt.label(fmt.TYPES, t.type)} 在线率 online rate", fmt.pct(t.rate), "%"],
            [
                f"{t.type}_offline_time",
                f"{fmt.label(fmt.TYPES, t.type)} 离线时长 offline",
                fmt.seconds(t.offline_ms),
                "s",
            ],
            [
                f"{t.type}_unknown_time",
                f"{fmt.label(fmt.TYPES, t.type)} 状态未知 unknown",
                fmt.seconds(t.unknown_ms),
                "s",
            ],
            [f"{t.type}_outages", f"{fmt.label(fmt.TYPES, t.type)} 中断次数 outages", str(t.outages), ""],
        ]
    for c in r.compliance:
        rows.append(
            [f"retention_{c.group}", f"录像保存达标 {fmt.label(fmt.GROUPS, c.group)}", f"{c.passed}/{c.required}", ""]
        )
    failed = sum(q.failed_checks > 0 for q in r.quality)
    rows.append(["quality_failed_cameras", "图像质量异常摄像机 cameras with quality failures", str(failed), ""])
    for s in r.ack_stats.values():
        name = fmt.label(fmt.CATEGORIES, s.category)
        rows += [
            [f"{s.category}_count", f"{name} 数量 count (excl. tests)", str(s.count), ""],
            [f"{s.category}_unacked", f"{name} 未确认 unacknowledged", str(s.unacked), ""],
            [f"{s.category}_ack_median", f"{name} 确认时间中位数 median ack time", fmt.seconds(s.median_ms), "s"],
            [f"{s.category}_ack_max", f"{name} 最长确认时间 max ack time", fmt.seconds(s.max_ms), "s"],
            [
                f"{s.category}_delivery_median",
                f"{name} 送达接警中位数 median press to police ACK",
                fmt.seconds(s.delivery_median_ms),
                "s",
            ],
            [
                f"{s.category}_delivery_max",
                f"{name} 最长送达接警 max press to police ACK",
                fmt.seconds(s.delivery_max_ms),
                "s",
            ],
        ]
    rows.append(["tests", "测试记录 tests performed", str(len(r.tests)), ""])
    rows.append(["tests_failed", "测试不通过 tests failed", str(sum(t.result == "fail" for t in r.tests)), ""])
    for link in r.links:
        rows.append([f"link_availability:{link.device_id}", f"接警链路可用率 {link.name}", fmt.pct(link.rate), "%"])
    return rows


DEVICE_HEADER = [
    "id", "类型 type", "名称 name", "位置 location", "在线率 online_rate_%", "在线 online_s", "离线 offline_s",
    "维护 maintenance_s", "未知 unknown_s", "中断次数 outages", "重点部位 key_area", "录像结论 retention",
    "已存天数 retained_days", "要求天数 required_days", "差额天数 shortfall_days", "质量检测 quality_checks",
    "质量异常 quality_failed", "异常类型 failures",
]  # fmt: skip


def device_row(d: Availability, ret: Retention | None, q: Quality | None) -> list[str]:
    row = [
        d.device_id, d.type, d.name, d.location, fmt.pct(d.rate), fmt.seconds(d.online_ms),
        fmt.seconds(d.offline_ms), fmt.seconds(d.maintenance_ms), fmt.seconds(d.unknown_ms), str(len(d.outages)),
    ]  # fmt: skip
    row += (
        ["yes" if ret.key_area else "no", ret.verdict, fmt.days(ret.retained_days), str(ret.required_days),
         fmt.days(ret.shortfall_days)]
        if ret else ["", "", "", "", ""]
    )  # fmt: skip
    failures = ";".join(f"{k}:{n}" for k, n in q.failures.items()) if q else ""
    row += [str(q.checks), str(q.failed_checks), failures] if q else ["", "", ""]
    return row


def tables(r: DailyReport) -> dict[str, tuple[Sequence[str], Iterable[Sequence[str]]]]:
    tz = ZoneInfo(r.timezone)
    ret = {x.device_id: x for x in r.retention}
    qual = {x.device_id: x for x in r.quality}
    outages = [*r.outages, *(o for link in r.links for o in link.outages)]
    return {
        "summary": (["key", "指标 metric", "值 value", "单位 unit"], summary_rows(r)),
        "devices": (DEVICE_HEADER, [device_row(d, ret.get(d.device_id), qual.get(d.device_id))
                                    for d in (*r.devices, *r.links)]),
        "outages": (
            ["id", "类型 type", "名称 name", "开始 start", "结束 end", "当日时长 in_day_s", "其中维护 maintenance_s",
             "原因 reason"],
            [[o.device_id, o.type, o.name, fmt.local(o.start_ms, tz, True),
              fmt.local(o.end_ms, tz, True) if o.end_ms is not None else "ongoing", fmt.seconds(o.in_day_ms),
              fmt.seconds(o.maintenance_ms), o.reason]
             for o in outages],
        ),
        "alarms": (
            ["id", "类别 category", "类型 kind", "设备 device", "防区 zone", "位置 location", "测试 test",
             "发生 opened", "确认 acked", "确认用时 ack_s", "送达接警用时 delivery_s", "确认人 acked_by", "状态 state"],
            [[a.id, a.category, a.kind, a.device_id, "" if a.zone is None else str(a.zone), a.location,
              "yes" if a.test else "no", fmt.local(a.opened_ms, tz, True), fmt.local(a.acked_ms, tz, True),
              fmt.seconds(a.ack_ms), fmt.seconds(a.delivery_ms), a.acked_by or "", a.state] for a in r.alarms],
        ),
        "tests": (
            ["时间 time", "设备 device", "来源 source", "类型 kind", "结论 result", "详情 detail"],
            [[fmt.local(t.ts_ms, tz, True), t.device_id, t.source, t.kind, t.result, t.detail] for t in r.tests],
        ),
        **({"patrol": patrol_table(r)} if r.patrol else {}),
    }  # fmt: skip


def patrol_table(r: DailyReport) -> tuple[Sequence[str], list[list[str]]]:
    """One row per round (plans without any round get one row saying so), with the plan's verdict."""
    tz = ZoneInfo(r.timezone)
    header = ["计划 plan", "要求 required", "完成 walked", "结论 verdict", "轮次 round", "状态 status",
              "开始 start", "结束 end", "巡查人员 guards", "未到巡查点 missing"]  # fmt: skip
    rows: list[list[str]] = []
    for p in r.patrol:
        head = [p.plan.id, str(p.plan.rounds_per_day), str(p.walked), str(p.verdict)]
        rows += [
            [*head, str(x.index), str(x.status), fmt.local(x.start_ms, tz, True), fmt.local(x.end_ms, tz, True),
             " ".join(x.guards), " ".join(x.missing)]
            for x in p.rounds
        ] or [[*head, "", "", "", "", "", ""]]  # fmt: skip
    return header, rows


def write_csv(report: DailyReport, out_dir: Path, stem: str) -> list[Path]:
    """One file per table, named `<stem>-<table>.csv`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (header, rows) in tables(report).items():
        path = out_dir / f"{stem}-{name}.csv"
        with path.open("w", encoding=ENCODING, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths
