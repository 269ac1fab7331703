"""A tiny read-only web page of what the demo's police receiver got: `/` (HTML, newest first) and
`/reports.json`. Loopback only; it serves nothing but the receiver's own reports."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
from datetime import UTC, datetime

from edge.relay.message import PoliceCode
from edge.sim.receiver import LABELS, DemoReceiver

log = logging.getLogger(__name__)

MAX_REQUEST = 8192  # a browser's GET head; anything bigger is not for this page
READ_TIMEOUT_S = 5.0
REFRESH_S = 2  # the page reloads itself this often, so it follows the scenario live


class ReceiverPage:
    def __init__(self, receiver: DemoReceiver, host: str = "127.0.0.1", port: int = 0) -> None:
        self.receiver, self.host, self.port = receiver, host, port
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> ReceiverPage:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
            if path.startswith("/reports.json"):
                body = json.dumps([r.as_dict() for r in self.receiver.reports], ensure_ascii=False).encode()
                status, ctype = "200 OK", "application/json; charset=utf-8"
            elif path == "/":
                body, status, ctype = self.render().encode(), "200 OK", "text/html; charset=utf-8"
            else:
                body, status, ctype = b"not found", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-cache\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            log.debug("receiver page: request dropped: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

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
