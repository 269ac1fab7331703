"""HTML for the patrol section (巡查记录): rounds per key area, the 5-a-day verdict, problems noted."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from edge.patrol.rounds import RoundStatus, Verdict
from edge.report import fmt
from edge.report.html_util import h2, table
from edge.report.model import DailyReport

ROUND_STATUS = {
    RoundStatus.COMPLETE: "完成 complete",
    RoundStatus.LATE: "迟到 late",
    RoundStatus.INCOMPLETE: "漏点 incomplete",
    RoundStatus.MISSED: "未巡查 missed",
    RoundStatus.IN_PROGRESS: "进行中 in progress",
    RoundStatus.UPCOMING: "未到时间 upcoming",
}
PLAN_VERDICT = {Verdict.PASS: "达标 pass", Verdict.FAIL: "不达标 fail", Verdict.PENDING: "进行中 pending"}
_GOOD = {RoundStatus.COMPLETE, RoundStatus.IN_PROGRESS, RoundStatus.UPCOMING}


def _span(text: str, good: bool) -> str:
    return f'<span class="{"ok" if good else "bad"}">{escape(text)}</span>'


def patrol_section(r: DailyReport, tz: ZoneInfo) -> str:
    if not r.patrol:
        return ""
    head = h2("巡查记录", "Patrol records (每日不少于 5 次 / at least 5 rounds a day)")
    names = r.patrol_names
    summary = table(
        [("巡查计划", "plan"), ("时段", "window"), ("要求", "required"), ("完成", "walked"), ("结论", "verdict")],
        [
            [escape(p.plan.name or p.plan.id), escape(p.plan.window), str(p.plan.rounds_per_day), str(p.walked),
             _span(PLAN_VERDICT[p.verdict], p.verdict is not Verdict.FAIL)]
            for p in r.patrol
        ],
        numeric={2, 3},
    )  # fmt: skip
    details = []
    for p in r.patrol:
        rows = [
            [str(x.index), fmt.local(x.due_ms, tz) if x.due_ms is not None else "—",
             _span(ROUND_STATUS[x.status], x.status in _GOOD), fmt.local(x.start_ms, tz), fmt.local(x.end_ms, tz),
             escape("、".join(x.guards)) or "—", escape("、".join(names.get(c, c) for c in x.missing)) or "—"]
            for x in p.rounds
        ]  # fmt: skip
        if not rows:
            rows = [["—", "—", _span("无巡查记录 no rounds", False), "—", "—", "—", "—"]]
        headers = [("轮次", "round"), ("规定时间", "due"), ("状态", "status"), ("开始", "start"), ("结束", "end"),
                   ("巡查人员", "guards"), ("未到巡查点", "missing")]  # fmt: skip
        details.append(f"<h3>{escape(p.plan.name or p.plan.id)}</h3>" + table(headers, rows))
    problems = ""
    if r.patrol_problems:
        problems = "<h3>巡查发现的问题 <small>problems noted</small></h3>" + table(
            [("时间", "time"), ("巡查点", "checkpoint"), ("巡查人员", "guard"), ("问题", "note"), ("照片", "photo")],
            [
                [fmt.local(c.ts_ms, tz), escape(names.get(c.checkpoint_id, c.checkpoint_id)), escape(c.guard),
                 escape(c.note), "有 yes" if c.has_photo else "无 no"]
                for c in r.patrol_problems
            ],
        )  # fmt: skip
    return head + summary + "".join(details) + problems
