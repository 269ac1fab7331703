"""The police video platform's page in the demo: `/` (HTML, reloads itself), `/status.json` and
`/last.jpg` (the last frame the console decoded). Loopback only, read-only."""

from __future__ import annotations

import html
import json
import logging
import time
from datetime import datetime
from typing import Any

from edge.demo.police_video import PoliceVideo
from edge.sim.page_server import NOT_FOUND, PageServer

log = logging.getLogger(__name__)

REFRESH_S = 2
PRIORITY = {"1": "一级警情", "2": "二级警情", "3": "三级警情", "4": "四级警情"}
METHOD = {"2": "设备报警 device", "6": "设备故障 device fault"}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _row_class(alarm: dict[str, str]) -> str:
    return "alarm" if alarm.get("AlarmPriority") in ("1", "2") else "fault"  # a press or tamper stands out


class PolicePage(PageServer):
    name = "police page"

    def __init__(self, video: PoliceVideo, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.video = video

    def route(self, path: str) -> tuple[str, str, bytes]:
        if path.startswith("/status.json"):
            return "200 OK", "application/json; charset=utf-8", json.dumps(self.video.snapshot()).encode()
        if path.startswith("/last.jpg") and self.video.last_frame is not None:
            return "200 OK", "image/jpeg", self.video.last_frame
        if path == "/":
            return "200 OK", "text/html; charset=utf-8", self.render(self.video.snapshot()).encode()
        return NOT_FOUND

    @staticmethod
    def render(s: dict[str, Any]) -> str:
        devices = (
            "".join(
                f"<tr><td>{_e(d['device_id'])}</td><td>{_e(d['address'])}</td><td>{_e(d['expires_in_s'])} s</td>"
                f"<td>{_e(d['keepalives'])}</td><td>{_e(d['last_keepalive_s_ago'])} s</td></tr>"
                for d in s["devices"]
            )
            or "<tr><td colspan=5>未注册 / not registered</td></tr>"
        )
        catalog = "".join(
            f"<tr><td>{_e(c.get('DeviceID'))}</td><td>{_e(c.get('Name'))}</td><td>{_e(c.get('Address'))}</td>"
            f"<td>{_e(c.get('RelatedChannel', ''))}</td></tr>"
            for c in s["catalog"]
        )
        alarms = "".join(
            f"<tr class='{_row_class(a)}'><td>{_e(a.get('AlarmTime'))}</td><td>{_e(a['channel'])}</td>"
            f"<td>{_e(a['name'])}</td>"
            f"<td>{_e(PRIORITY.get(a.get('AlarmPriority', ''), a.get('AlarmPriority')))}</td>"
            f"<td>{_e(METHOD.get(a.get('AlarmMethod', ''), a.get('AlarmMethod')))}</td>"
            f"<td>{_e(a.get('AlarmDescription'))}</td></tr>"
            for a in reversed(s["alarms"])
        )
        pulls = "".join(
            f"<tr><td>{datetime.fromtimestamp(p['started']).strftime('%H:%M:%S')}</td><td>{_e(p['alarm_channel'])}</td>"
            f"<td>{_e(p['channel'])} {_e(p['name'])}</td><td>{_e(p['status'])} {_e(p['detail'])}</td>"
            f"<td>{_e(p['packets'])}</td><td>{_e(p['frames'])}</td><td>{_e(p['first_packet_s'])}</td></tr>"
            for p in reversed(s["pulls"])
        )
        names = {c.get("DeviceID"): c.get("Name", "") for c in s["catalog"]}
        recordings = "".join(
            f"<tr><td>{_e(channel)}</td><td>{_e(names.get(channel))}</td><td>{len(items)}</td><td>"
            + "<br>".join(f"{_e(i.get('StartTime'))} – {_e(i.get('EndTime'))}" for i in items)
            + "</td></tr>"
            for channel, items in s["recordings"].items()
        )
        frame = ""
        if s["last_frame_at"] is not None:
            at = time.strftime("%H:%M:%S", time.localtime(s["last_frame_at"]))
            frame = f"<h2>最后一帧 last frame ({at})</h2><img src='/last.jpg?{int(s['last_frame_at'])}' width=640>"
        note = f"<p class='note'>{_e(s['video_note'])}</p>" if s["video_note"] else ""
        return (
            f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'><meta http-equiv='refresh' content='{REFRESH_S}'>"
            "<title>公安视频监控联网平台 police video platform</title><style>body{font-family:sans-serif;margin:1.5em}"
            "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #aaa;padding:3px 8px}"
            ".alarm{background:#fdd;font-weight:bold}.fault{background:#f4f4f4}.note{color:#a40}</style>"
            "<h1>公安视频监控联网平台（演示）/ police video platform (demo, GB/T 28181)</h1>"
            f"<p>SIP {_e(s['platform'])} · {_e(s['server_id'])} · 注册请求 REGISTERs {_e(s['register_attempts'])} · "
            f"鉴权失败 auth failures {_e(s['auth_failures'])} · 已解码帧 frames decoded {_e(s['frames_decoded'])}</p>"
            f"{note}<h2>注册设备 registered devices</h2><table><tr><th>设备 device</th><th>地址 address</th>"
            "<th>有效期 expires in</th><th>心跳 keepalives</th><th>上次心跳 last keepalive</th></tr>"
            f"{devices}</table><h2>通道目录 catalog</h2><table><tr><th>通道 channel</th><th>名称 name</th>"
            f"<th>位置 address</th><th>联动摄像机 linked camera</th></tr>{catalog}</table>"
            "<h2>报警 alarms</h2><table><tr><th>报警时间 time</th><th>通道 channel</th><th>名称 name</th>"
            "<th>级别 priority</th><th>方式 method</th><th>描述 description</th></tr>"
            f"{alarms}</table><h2>实时视频 live video pulls</h2><table><tr><th>时间 time</th><th>报警通道 alarm</th>"
            "<th>摄像机 camera</th><th>状态 status</th><th>RTP 包 packets</th><th>解码帧 frames</th>"
            f"<th>首包 first packet (s)</th></tr>{pulls}</table>{frame}"
            "<h2>录像 recordings, last 24 h (RecordInfo)</h2><table><tr><th>通道 channel</th><th>名称 name</th>"
            f"<th>段数 spans</th><th>时间 time</th></tr>{recordings}</table></html>"
        )
