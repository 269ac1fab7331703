"""A tiny read-only web page of what the demo's police receiver got: `/` (HTML, newest first) and
`/reports.json`. Loopback only; it serves nothing but the receiver's own reports."""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime

from edge.relay.message import PoliceCode
from edge.sim.page_server import NOT_FOUND, PageServer
from edge.sim.receiver import LABELS, DemoReceiver

log = logging.getLogger(__name__)

REFRESH_S = 2  # the page reloads itself this often, so it follows the scenario live


class ReceiverPage(PageServer):
    name = "receiver page"

    def __init__(self, receiver: DemoReceiver, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.receiver = receiver

    def route(self, path: str) -> tuple[str, str, bytes]:
        if path.startswith("/reports.json"):
            body = json.dumps([r.as_dict() for r in self.receiver.reports], ensure_ascii=False).encode()
            return "200 OK", "application/json; charset=utf-8", body
        if path == "/":
            return "200 OK", "text/html; charset=utf-8", self.render().encode()
        return NOT_FOUND

    def render(self) -> str:
        rows = []
        for r in reversed(self.receiver.reports):
            at = datetime.fromtimestamp(r.received_ms / 1000, tz=UTC).astimezone().strftime("%H:%M:%S")
            zh, en = LABELS.get(PoliceCode[r.name], ("?", "?")) if r.name else ("链路检测", "supervision")
            cls = "alarm" if r.name in ("PANIC", "TAMPER") else ("test" if r.test else "")
            rows.append(
                f"<tr class='{cls}'><td>{at}</td><td>{html.escape(r.account or '')}</td><td>{r.kind}</td>"
                f"<td>{html.escape(r.code or '')}</td><td>{zh} / {en}</td>"
                f"<td>{'' if r.zone is None else f'{r.zone:03d}'}</td><td>{r.sequence:04d}</td>"
                f"<td>{'AES' if r.encrypted else ''}</td><td>ACK{' (dup)' if r.duplicate else ''}</td></tr>"
            )
        return (
            f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'><meta http-equiv='refresh' content='{REFRESH_S}'>"
            "<title>接警中心 police receiver</title><style>body{font-family:sans-serif;margin:1.5em}"
            "table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:3px 8px}"
            ".alarm{background:#fdd;font-weight:bold}.test{background:#def}</style>"
            f"<h1>接警中心（演示）/ police receiver (demo)</h1><p>{html.escape(self.receiver.url)} · "
            f"{len(self.receiver.reports)} 条 reports</p><table><tr><th>时间 time</th><th>用户 account</th>"
            "<th>格式 format</th><th>代码 code</th><th>事件 event</th><th>防区 zone</th><th>序号 seq</th>"
            "<th>加密</th><th>应答 reply</th></tr>" + "".join(rows) + "</table></html>"
        )
