"""WS-Discovery for the ONVIF simulator: answers Probe messages with one ProbeMatches per camera.

Messages are built and parsed with the `wsdiscovery` package. It listens on a UDP port (3702 on a
real LAN; any port on loopback, where a unicast probe reaches it) and can also join the WS-Discovery
multicast group where the interface supports multicast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from wsdiscovery.actions import constructProbeMatch
from wsdiscovery.message import createSOAPMessage, parseSOAPMessage
from wsdiscovery.namespaces import NS_ACTION_PROBE
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope
from wsdiscovery.service import Service

from edge.sim.onvif.server import OnvifSimulator

log = logging.getLogger(__name__)

MULTICAST_GROUP = "239.255.255.250"  # WS-Discovery, fixed by the specification
WSD_PORT = 3702
NS_NVT = "http://www.onvif.org/ver10/network/wsdl"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
_EPR_NS = uuid.UUID("7d0c4f5e-3a0b-4d55-9d5c-6a2f3c1e0b11")  # stable endpoint ids per camera id


@dataclass(frozen=True, slots=True)
class CameraMeta:
    name: str
    location: str = ""


def scopes_for(model: str, manufacturer: str, meta: CameraMeta) -> list[str]:
    """ONVIF Core 7.3.2.2 scopes; names and locations percent-encoded (they may be Chinese)."""
    base = "onvif://www.onvif.org/"
    out = [f"{base}type/video_encoder", f"{base}Profile/Streaming", f"{base}hardware/{quote(model)}",
           f"{base}manufacturer/{quote(manufacturer)}", f"{base}name/{quote(meta.name)}"]  # fmt: skip
    if meta.location:
        out.append(f"{base}location/{quote(meta.location)}")
    return out


class WsdResponder(asyncio.DatagramProtocol):
    def __init__(self, sim: OnvifSimulator, meta: dict[str, CameraMeta] | None = None) -> None:
        self.sim = sim
        self.meta = meta or {}
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.probes = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0, multicast: bool = False) -> WsdResponder:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("" if multicast else host, port))
        if multicast:
            mreq = struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton(host))
            try:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            except OSError as exc:  # e.g. a loopback without MULTICAST: unicast probes still work
                log.info("WS-Discovery: cannot join %s on %s (%s); unicast only", MULTICAST_GROUP, host, exc)
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, sock=sock)
        self.port = sock.getsockname()[1]
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint gets a datagram transport

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        env = parseSOAPMessage(data, str(addr[0]))
        if env is None or env.getAction() != NS_ACTION_PROBE:
            return
        wanted = {t.getLocalname() for t in env.getTypes() or []}
        if wanted and not wanted & {"NetworkVideoTransmitter", "Device"}:
            return  # a probe for printers or other devices
        self.probes += 1
        for cam_id, cam in list(self.sim.cameras.items()):
            if cam.faults.offline is not None:
                continue  # a powered-off camera answers nothing
            meta = self.meta.get(cam_id, CameraMeta(cam_id))
            service = Service(
                [QName(NS_NVT, "NetworkVideoTransmitter", "dn"), QName(NS_DEVICE, "Device", "tds")],
                [Scope(s) for s in scopes_for(cam.model, cam.manufacturer, meta)],
                [self.sim.url(cam_id)],
                f"urn:uuid:{uuid.uuid5(_EPR_NS, cam_id)}",
                1,
            )
            reply = createSOAPMessage(constructProbeMatch([service], env.getMessageId()))
            if self.transport is not None:
                with contextlib.suppress(OSError):
                    self.transport.sendto(reply.encode("utf-8"), addr)
