"""`edge commission report`: the acceptance (验收) report, every device with its last test and checks.

Read from the store alone (opened read-only, so it is safe while the daemon runs): buttons with
their last technician test (a `test` press) and whether the police receiver acknowledged its test
report, cameras with their last clock, quality and retention results, and each device's state.
"""

from __future__ import annotations

import html
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.config import Config
from edge.report.fmt import DELIVERY_STATES, FAILURES, STATES, VERDICTS, label
from edge.states import DeviceState

CAMERA_CHECKS = ("clock", "quality", "retention")
CHECK_LABELS = {
    "clock": "时钟 clock",
    "quality": "图像 quality",
    "retention": "录像 retention",
    "health": "在线 health",
}
PASS, FAIL, NONE = "通过 PASS", "不通过 FAIL", "未测试 NOT TESTED"


@dataclass(slots=True)
class Row:
    device: str
    type: str
    name: str
    location: str
    state: str
    verdict: str
    checks: list[tuple[str, str, str]] = field(default_factory=list)  # (check, result, time)


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(f"no store at {path}: has the daemon run on this config?")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


class ReportBuilder:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.tz = ZoneInfo(config.site.timezone)

    def when(self, ts_ms: int | None) -> str:
        if ts_ms is None:
            return "-"
        return datetime.fromtimestamp(ts_ms / 1000, tz=self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def build(self) -> list[Row]:
        conn = _connect(self.config.storage.path)
        try:
            states = {r["device_id"]: r["state"] for r in conn.execute("SELECT device_id, state FROM device_state")}
            rows = [self._button(conn, b.id, b.name, b.location, states) for b in self.config.buttons]
            rows += [self._camera(conn, c.id, c.name, c.location, states) for c in self.config.cameras]
            rows += [Row(b.id, "bus", b.id, b.port, states.get(b.id, "unknown"), "-") for b in self.config.serial_buses]
        finally:
            conn.close()
        return rows

    def _button(self, conn: sqlite3.Connection, dev: str, name: str, loc: str, states: dict[str, str]) -> Row:
        row = Row(dev, "button", name, loc, states.get(dev, "unknown"), NONE)
        press = conn.execute(
            "SELECT id, ts_ms FROM events WHERE device_id = ? AND kind = 'alarm.press' AND test = 1 "
            "ORDER BY ts_ms DESC LIMIT 1",
            (dev,),
        ).fetchone()
        if press is None:
            return row
        out = conn.execute(
            "SELECT state, acked_ms, receiver FROM outbox WHERE event_id = ? ORDER BY (transport != 'dc09') LIMIT 1",
            (press["id"],),
        ).fetchone()
        row.checks.append(("按下 press", "收到 received", self.when(press["ts_ms"])))
        if out is not None and out["acked_ms"] is not None:
            latency = out["acked_ms"] - press["ts_ms"]
            row.checks.append(("接警确认 police ACK", f"{out['receiver']} {latency} ms", self.when(out["acked_ms"])))
            row.verdict = PASS
        else:
            state = out["state"] if out is not None else "none"
            row.checks.append(("接警确认 police ACK", f"无 none ({label(DELIVERY_STATES, state)})", "-"))
            row.checks.append(("处理 fix", "检查接警链路与接收机账号，再做一次 test-alarm / check the police link and "
                               "receiver account, then run test-alarm again", "-"))  # fmt: skip
            row.verdict = FAIL
        return row

    @staticmethod
    def _checks(conn: sqlite3.Connection, dev: str) -> list[dict[str, Any]]:
        """Each check's latest result: the check_results row, else the newest camera.<check> event."""
        stored = {
            r["check_name"]: dict(r)
            for r in conn.execute(
                "SELECT check_name, verdict, result, ts_ms FROM check_results WHERE device_id = ?", (dev,)
            )
        }
        for check in CAMERA_CHECKS:
            if check in stored:
                continue
            ev = conn.execute(
                "SELECT payload, ts_ms FROM events WHERE device_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
                (dev, f"camera.{check}"),
            ).fetchone()
            if ev is not None:
                payload = json.loads(ev["payload"])
                verdict = str(payload.get("verdict", "unknown"))
                stored[check] = {"check_name": check, "verdict": verdict, "result": ev["payload"], "ts_ms": ev["ts_ms"]}
        return [stored[k] for k in sorted(stored)]

    def _camera(self, conn: sqlite3.Connection, dev: str, name: str, loc: str, states: dict[str, str]) -> Row:
        row = Row(dev, "camera", name, loc, states.get(dev, "unknown"), NONE)
        results = self._checks(conn, dev)
        for r in results:
            detail = json.loads(r["result"] or "{}")
            text = label(VERDICTS, r["verdict"])
            if r["check_name"] == "retention" and detail.get("retained_days") is not None:
                text += f" ({detail['retained_days']:.0f}/{detail.get('required_days')} d)"
            elif r["check_name"] == "quality" and detail.get("failures"):
                text += f" ({', '.join(label(FAILURES, f) for f in detail['failures'])})"
            elif r["check_name"] == "clock" and detail.get("drift_s") is not None:
                text += f" ({detail['drift_s']:+.1f} s)"
            check_label = CHECK_LABELS.get(r["check_name"], r["check_name"])
            row.checks.append((check_label, text, self.when(r["ts_ms"])))
        if results:
            ok = all(r["verdict"] in ("pass", "ok") for r in results) and row.state == DeviceState.ONLINE
            row.verdict = PASS if ok else FAIL
        return row


def render_text(config: Config, rows: list[Row], generated: str) -> str:
    lines = [f"验收报告 / commissioning report — {config.site.name or config.site.id} ({config.site.id})",
             f"生成时间 generated: {generated}", ""]  # fmt: skip
    passed = sum(r.verdict == PASS for r in rows if r.type != "bus")
    total = sum(r.type != "bus" for r in rows)
    for r in rows:
        lines.append(
            f"[{r.verdict}] {r.type:<6} {r.device} {r.name} ({r.location}) 状态 state: {label(STATES, r.state)}"
        )
        lines.extend(f"        {check}: {result}  @ {at}" for check, result, at in r.checks)
    failed = sum(r.verdict == FAIL for r in rows)
    lines += ["", f"合计 total: {passed}/{total} 通过 passed, {failed} 不通过 failed"]
    return "\n".join(lines)


def render_html(config: Config, rows: list[Row], generated: str) -> str:
    e = html.escape
    body = []
    for r in rows:
        checks = "<br>".join(f"{e(c)}: {e(res)} <small>{e(at)}</small>" for c, res, at in r.checks) or "-"
        cls = "pass" if r.verdict == PASS else ("fail" if r.verdict == FAIL else "none")
        body.append(
            f"<tr class='{cls}'><td>{e(r.type)}</td><td>{e(r.device)}</td><td>{e(r.name)}</td><td>{e(r.location)}</td>"
            f"<td>{e(r.state)}</td><td>{checks}</td><td>{e(r.verdict)}</td></tr>"
        )
    title = f"验收报告 {config.site.name or config.site.id}"
    return (
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:4px 8px;text-align:left}"
        ".pass td:last-child{color:#070}.fail td:last-child{color:#b00;font-weight:bold}.none td:last-child{color:#777}"
        "@media print{body{margin:0}}</style>"
        f"<h1>{e(title)}</h1><p>站点 site {e(config.site.id)} · 生成时间 generated {e(generated)}</p>"
        "<table><tr><th>类型 type</th><th>设备 device</th><th>名称 name</th><th>位置 location</th>"
        "<th>状态 state</th><th>测试与检查 tests and checks</th><th>结论 verdict</th></tr>"
        + "".join(body)
        + "</table><p>签字 signatures: 施工方 installer ________ 验收方 acceptor ________</p></html>"
    )


def commissioning_report(config: Config, fmt: str = "text") -> tuple[str, bool]:
    """The report, and whether any device failed (the command's exit status depends on it)."""
    builder = ReportBuilder(config)
    rows = builder.build()
    generated = datetime.now(builder.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    text = render_html(config, rows, generated) if fmt == "html" else render_text(config, rows, generated)
    return text, any(r.verdict == FAIL for r in rows)
