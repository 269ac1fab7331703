"""WS-Discovery probe for ONVIF devices: who answers, at which address, with which scopes.

The probe goes to the WS-Discovery multicast group by default, or unicast to one address (a
device on another subnet, or the simulator on loopback). Messages are built and parsed with the
`wsdiscovery` package; the socket is ours so replies to a unicast probe are read too.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from wsdiscovery.actions import constructProbe
from wsdiscovery.message import createSOAPMessage, parseSOAPMessage
from wsdiscovery.namespaces import NS_ACTION_PROBE_MATCH
from wsdiscovery.qname import QName

from edge.config import Config, read_secret
from edge.onvif.ops import get_device_information
from edge.onvif.session import CallError, OnvifSession

MULTICAST_GROUP = "239.255.255.250"
WSD_PORT = 3702
NS_NVT = "http://www.onvif.org/ver10/network/wsdl"
BUFFER = 65_536  # a UDP datagram's upper bound
SCOPE_PREFIX = "onvif://www.onvif.org/"
DETAIL_FIXES = {
    "auth_failed": "用 -c 给出该摄像机的账号，或 --username/--password-file / give its credentials with -c, or "
    "--username/--password-file",
    "timeout": "设备应答太慢：检查网络 / the device answers too slowly: check the network",
}


@dataclass(slots=True)
class Found:
    xaddr: str  # the device service URL
    epr: str
    scopes: tuple[str, ...]
    in_config: str | None  # the configured camera id with the same host:port, if any
    device: dict[str, str] | None = None  # GetDeviceInformation (with --details): Manufacturer, Model, Firmware...
    error: str | None = None  # why the details could not be read

    def scope(self, key: str) -> str:
        """The first `onvif://www.onvif.org/<key>/...` value, decoded ("" when absent)."""
        head = f"{SCOPE_PREFIX}{key}/"
        for s in self.scopes:
            if s.lower().startswith(head.lower()):
                return unquote(s[len(head) :])
        return ""


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def match_config(xaddr: str, config: Config | None) -> str | None:
    if config is None:
        return None
    want = _endpoint(xaddr)
    for cam in config.cameras:
        if _endpoint(cam.onvif) == want:
            return cam.id
        if cam.recorder is not None and _endpoint(cam.recorder.onvif) == want:
            return f"{cam.id} (recorder)"
    return None


def probe(
    address: str = MULTICAST_GROUP, port: int = WSD_PORT, wait: float = 3.0, config: Config | None = None
) -> list[Found]:
    """Send one Probe for NetworkVideoTransmitter and collect ProbeMatches for `wait` seconds."""
    env = constructProbe([QName(NS_NVT, "NetworkVideoTransmitter", "dn")], [])
    env.setMessageId(uuid.uuid4().urn)
    data = createSOAPMessage(env).encode("utf-8")
    found: dict[str, Found] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # stay on the local segment
        sock.bind(("", 0))
        sock.sendto(data, (address, port))
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                raw, peer = sock.recvfrom(BUFFER)
            except TimeoutError:
                break
            reply = parseSOAPMessage(raw, peer[0])
            if reply is None or reply.getAction() != NS_ACTION_PROBE_MATCH:
                continue
            if reply.getRelatesTo() != env.getMessageId():
                continue  # an answer to someone else's probe
            for m in reply.getProbeResolveMatches():
                for xaddr in m.getXAddrs() or []:
                    scopes = tuple(s.getValue() for s in m.getScopes() or [])
                    found[xaddr] = Found(xaddr, str(m.getEPR()), scopes, match_config(xaddr, config))
    return sorted(found.values(), key=lambda f: f.xaddr)


async def add_details(
    found: list[Found], config: Config | None, username: str, password: str | None, call_timeout: float = 3.0
) -> None:
    """Ask each device for its model and firmware (GetDeviceInformation), with the credentials the config
    has for it, else the ones given. Devices are asked concurrently; one that fails says why."""

    async def one(f: Found) -> None:
        user, pw = username, password
        cam = next((c for c in config.cameras if c.id == f.in_config), None) if config else None
        if cam is not None:
            user, pw = cam.username, read_secret(cam.password_file)
        session = OnvifSession(f.xaddr, user, pw, f"discover:{f.xaddr}", call_timeout)
        try:
            f.device = await get_device_information(session)
        except CallError as exc:
            f.error = exc.kind
        finally:
            await session.close()

    await asyncio.gather(*(one(f) for f in found))


def format_table(found: list[Found], compared: bool = True) -> str:
    """`compared`: a config was given, so each device is marked in it or not."""
    if not found:
        return (
            "未发现 ONVIF 设备 / no ONVIF device answered\n"
            "  处理 fix: 检查网线与网段、摄像机是否开启 ONVIF 与 WS-Discovery，或用 --address 单播探测 / "
            "check cabling and subnet, that ONVIF and WS-Discovery are enabled, or probe one address with --address"
        )
    lines = [f"发现 {len(found)} 台 ONVIF 设备 / {len(found)} ONVIF device(s) found:"]
    if not compared:
        lines.append("  未给出配置 (-c)，不与配置比对 / no config given (-c FILE): nothing to compare against")
    for f in found:
        if not compared:
            where = ""
        elif f.in_config:
            where = f"已在配置中: {f.in_config} / in config"
        else:
            where = "不在配置中 / not in config"
        lines.append(f"  {f.xaddr}")
        lines.append(
            f"    型号 model: {f.scope('hardware') or '?'}  名称 name: {f.scope('name') or '?'}  "
            f"位置 location: {f.scope('location') or '?'}  厂商 vendor: {f.scope('manufacturer') or '?'}"
        )
        if f.device is not None:
            d = f.device
            lines.append(f"    设备 device: {d['Manufacturer']} {d['Model']}  固件 firmware: {d['FirmwareVersion']}")
        elif f.error is not None:
            lines.append(
                f"    设备信息读取失败 / device information failed: {f.error} — 处理 fix: "
                + DETAIL_FIXES.get(f.error, "检查网络与 ONVIF 服务 / check the network and the ONVIF service")
            )
        if where:
            lines.append(f"    {where}")
    return "\n".join(lines)
