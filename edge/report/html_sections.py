"""HTML sections: retention, image quality, alarms and tests, police link, definitions."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from edge.report import fmt, svg
from edge.report.html_util import h2, table
from edge.report.model import DailyReport


def _verdict(v: str) -> str:
    cls = "ok" if v == "pass" else "bad"
    return f'<span class="{cls}">{escape(fmt.label(fmt.VERDICTS, v))}</span>'


def retention_section(r: DailyReport, tz: ZoneInfo) -> str:
    head = h2("录像保存", "Video retention (30 / 90 days)")
    if not r.retention:
        return head + f'<p class="empty">{fmt.NO_DATA}: 未登记摄像机 no cameras registered</p>'
    groups = table(
        [("分组", "group"), ("应达标", "required"), ("达标", "pass"), ("不足", "short"), ("未核验", "unverified")],
        [[fmt.label(fmt.GROUPS, c.group), str(c.required), str(c.passed), str(c.short), str(c.unverified)]
         for c in r.compliance],
        numeric={1, 2, 3, 4},
    )  # fmt: skip
    rows = [
        [escape(x.name), escape(x.device_id), "是 yes" if x.key_area else "否 no", _verdict(x.verdict),
         fmt.days(x.retained_days), str(x.required_days),
         f'<span class="bad">{fmt.days(x.shortfall_days)}</span>' if x.shortfall_days else fmt.days(x.shortfall_days),
         fmt.local(x.checked_ms, tz)]
        for x in r.retention
    ]  # fmt: skip
    cams = table(
        [("摄像机", "camera"), ("编号", "id"), ("重点部位", "key area"), ("结论", "verdict"), ("已存天数", "retained"),
         ("要求天数", "required"), ("差额天数", "shortfall"), ("检查时间", "checked")],
        rows,
        numeric={4, 5, 6},
    )  # fmt: skip
    return head + groups + cams


def quality_section(r: DailyReport) -> str:
    head = h2("图像质量", "Image quality")
    if not r.quality:
        return head + f'<p class="empty">{fmt.NO_DATA}</p>'
    rows = []
    for q in r.quality:
        failures = "、".join(f"{fmt.label(fmt.FAILURES, k)} ×{n}" for k, n in q.failures.items())
        last = fmt.NO_DATA if q.last_verdict is None else fmt.label(fmt.VERDICTS, q.last_verdict)
        rows.append([escape(q.name), escape(q.device_id), str(q.checks),
                     f'<span class="bad">{q.failed_checks}</span>' if q.failed_checks else "0",
                     escape(failures) or "—", escape(last)])  # fmt: skip
    return head + table(
        [("摄像机", "camera"), ("编号", "id"), ("检测次数", "checks"), ("异常次数", "failed"),
         ("异常类型", "failures"), ("最后结论", "last verdict")], rows, numeric={2, 3},
    )  # fmt: skip


def alarms_section(r: DailyReport, tz: ZoneInfo) -> str:
    head = h2("报警与响应", "Alarms and response times")
    stats = table(
        [("类别", "category"), ("数量", "count (excl. tests)"), ("已确认", "acked"), ("未确认", "unacked"),
         ("确认用时中位数", "median ack"), ("最长确认用时", "max ack"),
         ("送达接警中位数", "median press → police"), ("最长送达接警", "max press → police")],
        [[fmt.label(fmt.CATEGORIES, s.category), str(s.count), str(s.acked),
          f'<span class="bad">{s.unacked}</span>' if s.unacked else "0",
          f"{fmt.seconds(s.median_ms)} s" if s.median_ms is not None else "—",
          f"{fmt.seconds(s.max_ms)} s" if s.max_ms is not None else "—",
          f"{fmt.seconds(s.delivery_median_ms)} s" if s.delivery_median_ms is not None else "—",
          f"{fmt.seconds(s.delivery_max_ms)} s" if s.delivery_max_ms is not None else "—"]
         for s in r.ack_stats.values()],
        numeric={1, 2, 3, 4, 5, 6, 7},
    )  # fmt: skip
    chart = (
        f"<figure>{svg.alarm_timeline(r.alarms, r.start_ms, r.end_ms, tz)}<figcaption>图3 报警时间线（实心 = 已确认，"
        "空心红 = 未确认）Fig. 3 alarm timeline (filled = acknowledged, hollow red = never acknowledged)"
        "</figcaption></figure>"
    )
    if r.alarms:
        rows = [
            [fmt.local(a.opened_ms, tz), escape(fmt.label(fmt.CATEGORIES, a.category)),
             escape(fmt.label(fmt.KINDS, a.kind)), escape(a.device_id),
             "" if a.zone is None else str(a.zone), escape(a.location), "是 yes" if a.test else "",
             f"{fmt.seconds(a.ack_ms)} s" if a.ack_ms is not None else '<span class="bad">未确认 unacked</span>',
             f"{fmt.seconds(a.delivery_ms)} s" if a.delivery_ms is not None else "—",
             escape(a.acked_by or ""), escape(fmt.label(fmt.ALARM_STATES, a.state))]
            for a in r.alarms
        ]  # fmt: skip
        listing = table(
            [("时间", "opened"), ("类别", "category"), ("类型", "kind"), ("设备", "device"), ("防区", "zone"),
             ("位置", "location"), ("测试", "test"), ("确认用时", "ack time"), ("送达接警用时", "press → police"),
             ("确认人", "by"), ("状态", "state")],
            rows,
            numeric={4, 7, 8},
        )  # fmt: skip
    else:
        listing = '<p class="empty">当日无报警 no alarms during the day</p>'
    return head + stats + chart + listing + tests_section(r, tz)


def tests_section(r: DailyReport, tz: ZoneInfo) -> str:
    head = h2("测试记录", "Tests performed")
    if not r.tests:
        return head + '<p class="empty">当日无测试 no tests during the day</p>'
    rows = [[fmt.local(t.ts_ms, tz), escape(t.device_id), "事件 event" if t.source == "event" else "报警 alarm",
             escape(fmt.label(fmt.KINDS, t.kind)), _result(t.result), escape(t.detail)] for t in r.tests]  # fmt: skip
    return head + table([("时间", "time"), ("设备", "device"), ("来源", "source"), ("类型", "kind"),
                         ("结论", "result"), ("详情", "detail")], rows)  # fmt: skip


def _result(result: str) -> str:
    if result == "fail":
        return f'<span class="bad">{fmt.TEST_RESULTS["fail"]}</span>'
    return fmt.TEST_RESULTS.get(result, "")


def links_section(r: DailyReport, tz: ZoneInfo) -> str:
    head = h2("接警链路可用率", "Police link availability")
    if not r.links:
        return head + f'<p class="empty">{fmt.NO_DATA}: 未配置接警中心 no police receiver</p>'
    rows = [[escape(x.name), escape(x.location), f"{fmt.pct(x.rate)}", fmt.duration(x.offline_ms),
             fmt.duration(x.unknown_ms), str(len(x.outages))] for x in r.links]  # fmt: skip
    downs = [
        [escape(o.name), fmt.local(o.start_ms, tz, o.start_ms < r.start_ms),
         fmt.ONGOING if o.end_ms is None else fmt.local(o.end_ms, tz), fmt.duration(o.in_day_ms),
         escape(fmt.label(fmt.REASONS, o.reason))]
        for x in r.links for o in x.outages
    ]  # fmt: skip
    body = table([("接收机", "receiver"), ("地址", "address"), ("可用率 %", "availability"), ("中断", "down"),
                  ("未知", "unknown"), ("中断次数", "outages")], rows, numeric={2, 3, 4, 5})  # fmt: skip
    if downs:
        body += table([("接收机", "receiver"), ("开始", "start"), ("结束", "end"), ("当日时长", "in day"),
                       ("原因", "reason")], downs, numeric={3})  # fmt: skip
    return head + body


DEFINITIONS = [
    ("在线率 online rate", "在线时长 ÷（在线 + 离线时长）；维护时段与状态未知时段不计入分母。"
     " online time ÷ (online + offline time); maintenance and unknown time are excluded."),
    ("状态未知 unknown", "当日开始前无任何上线/离线记录的时段，单列，不计为在线。"
     " time before the first known state; shown separately, never counted as online."),
    ("离线记录 outage", "自离线事件至下一次上线事件；当日时长只计当日部分；“持续中”表示至统计止仍离线。"
     " from an offline event to the next online event; in-day = the part inside the period."),
    ("录像保存 retention", "每台摄像机当日最后一次核验结论；重点部位要求 90 天，其余 30 天。"
     " each camera's last retention verdict of the day; key areas need 90 days, others 30."),
    ("确认用时 ack time", "报警发生至值班员确认的时间，不含测试报警。 opened to acknowledged, tests excluded."),
    ("接警链路 police link", "与报警接收中心链路处于 up 的时长占已知时长的比例。 share of known time the link was up."),
]  # fmt: skip


def definitions() -> str:
    rows = [[escape(k), escape(v)] for k, v in DEFINITIONS]
    return h2("口径说明", "Definitions") + table([("指标", "figure"), ("定义", "definition")], rows)
