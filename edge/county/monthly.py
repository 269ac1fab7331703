"""The bureau's monthly report: per school and in total, from the daily figures the schools sent.

Pure: rows of `reports` (school, day, data) in, a table out; rendered as CSV or a zh-CN HTML page.
"""

from __future__ import annotations

import csv
import html
import io
from typing import Any

COLUMNS = [
    ("school", "学校"),
    ("name", "名称"),
    ("days", "上报天数"),
    ("button_rate", "一键报警在线率"),
    ("camera_rate", "视频在线率"),
    ("retention_days_ok", "存储合规天数"),
    ("alarms", "真实报警"),
    ("unacked", "未确认报警"),
    ("tests", "报警测试次数"),
    ("patrol_days_ok", "巡查合格天数"),
    ("patrol_days", "巡查上报天数"),
]


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def monthly(rows: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """One line per school, then a total line (school = "合计")."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["school"], []).append(r["data"])
    out: list[dict[str, Any]] = []
    for school, days in sorted(by.items()):
        rates = {
            t: [
                float(d["online_rate"][t]["rate"])
                for d in days
                if (d.get("online_rate") or {}).get(t, {}).get("rate") is not None
            ]
            for t in ("button", "camera")
        }
        comp = [
            [c for c in (d.get("retention") or {}).get("compliance") or [] if c.get("group") == "all"] for d in days
        ]
        patrol = [d.get("patrol") or [] for d in days]
        out.append(
            {
                "school": school,
                "name": names.get(school, school),
                "days": len(days),
                "button_rate": _mean(rates["button"]),
                "camera_rate": _mean(rates["camera"]),
                "retention_days_ok": sum(1 for c in comp if c and all(x["passed"] == x["required"] for x in c)),
                "alarms": sum(int((d.get("alarms") or {}).get("real", 0)) for d in days),
                "unacked": sum(int((d.get("alarms") or {}).get("unacked", 0)) for d in days),
                "tests": sum(int((d.get("tests") or {}).get("count", 0)) for d in days),
                "patrol_days_ok": sum(1 for p in patrol if p and all(x.get("verdict") == "pass" for x in p)),
                "patrol_days": sum(1 for p in patrol if p),
            }
        )
    total: dict[str, Any] = {"school": "合计", "name": f"{len(out)} 所学校"}
    for key in ("days", "retention_days_ok", "alarms", "unacked", "tests", "patrol_days_ok", "patrol_days"):
        total[key] = sum(int(o[key]) for o in out)
    for key in ("button_rate", "camera_rate"):
        total[key] = _mean([o[key] for o in out if o[key] is not None])
    return [*out, total]


def _cell(v: Any, key: str) -> str:
    if v is None:
        return "—"
    return f"{v * 100:.1f}%" if key.endswith("_rate") else str(v)


def to_csv(lines: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([zh for _k, zh in COLUMNS])
    for line in lines:
        w.writerow([_cell(line.get(k), k) for k, _zh in COLUMNS])
    return "\ufeff" + buf.getvalue()  # the BOM lets Excel open the Chinese headers as UTF-8


def to_html(title: str, month: str, lines: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(zh)}</th>" for _k, zh in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(line.get(k), k))}</td>" for k, _zh in COLUMNS) + "</tr>"
        for line in lines
    )
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} {month} 月报</title>"
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem}</style></head>"
        f"<body><h1>{html.escape(title)} · {month} 校园安全联网月报</h1><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )
