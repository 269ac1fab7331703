"""A GB/T 28181 platform (公安视频监控联网平台) simulator for tests and the demo.

A registrar with an MD5 digest 401 challenge (qop=auth unless `qop=False`), keepalive accounting,
Catalog/DeviceInfo/DeviceStatus queries sent to a registered device, and a log of every alarm
Notify (MESSAGE or NOTIFY) answered with 200 OK, RecordInfo queries (their answers logged), INVITE
of a channel over UDP or TCP either way round. `answer_keepalives = False` plays a platform that
stops answering keepalives. Run standalone: python -m edge.sim.gb28181_platform --port 15060
[--record-info HOURS].
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.gb28181 import digest, manscdp, sdp
from edge.gb28181.endpoint import Addr, SipEndpoint
from edge.gb28181.sip import SipMessage, new_branch, new_call_id, new_tag, uri_user

log = logging.getLogger(__name__)


@dataclass
class Device:
    device_id: str
    addr: Addr
    expires_at: float
    keepalives: int = 0
    last_keepalive: float | None = None


@dataclass
class PlatformSim:
    server_id: str = "34020000002000000001"
    password: str = "12345678"  # noqa: S105 - the simulator's well-known test password
    transport: str = "udp"
    qop: bool = True
    answer_keepalives: bool = True
    charset: str = "GB2312"
    devices: dict[str, Device] = field(default_factory=dict)
    alarms: list[manscdp.Document] = field(default_factory=list)
    alarm_at: list[float] = field(default_factory=list)  # time.perf_counter() at each alarm's arrival
    responses: list[manscdp.Document] = field(default_factory=list)  # Response documents from devices
    register_attempts: int = 0
    auth_failures: int = 0
    unregisters: int = 0
    byes: list[str] = field(default_factory=list)  # Call-IDs the device ended
    endpoint: SipEndpoint | None = None
    _nonces: set[str] = field(default_factory=set)
    _sn: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def realm(self) -> str:
        return self.server_id[:10]

    @property
    def port(self) -> int:
        return self.endpoint.local[1] if self.endpoint else 0

    @property
    def url(self) -> str:
        return f"{self.transport}://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> PlatformSim:
        self.endpoint = SipEndpoint(self.transport, self._on_request, source="gb28181-sim")
        await self.endpoint.listen(host, port)
        return self

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.close()

    async def wait_for(self, predicate: object, within: float = 10.0) -> None:
        assert callable(predicate)
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.1):
                        await self.changed.wait()

    # ---- the platform's requests to a device ---------------------------------------------
    async def query(self, device_id: str, cmd: str, within: float = 5.0) -> int:
        """Send a Query MESSAGE (Catalog, DeviceInfo, DeviceStatus); returns its SN (answers land in responses)."""
        dev = self.devices[device_id]
        self._sn += 1
        body = manscdp.encode("Query", [("CmdType", cmd), ("SN", self._sn), ("DeviceID", device_id)], self.charset)
        await self.message(dev, body, within)
        return self._sn

    async def record_info(
        self, device_id: str, channel: str, start: str, end: str, kind: str = "all", within: float = 5.0
    ) -> int:
        """A RecordInfo query for `channel` between local times `start` and `end`; returns its SN."""
        dev = self.devices[device_id]
        self._sn += 1
        items: list[tuple[str, object]] = [
            ("CmdType", "RecordInfo"),
            ("SN", self._sn),
            ("DeviceID", channel),
            ("StartTime", start),
            ("EndTime", end),
            ("Secrecy", 0),
            ("Type", kind),
        ]
        await self.message(dev, manscdp.encode("Query", items, self.charset), within)
        return self._sn

    def records_for(self, sn: int) -> list[dict[str, str]]:
        """The RecordList Items of every RecordInfo response to `sn`, as tag -> text."""
        out = []
        for doc in self.responses_for(sn):
            for item in doc.element.iter("Item"):
                out.append({child.tag: (child.text or "") for child in item})
        return out

    async def control(
        self, device_id: str, items: list[tuple[str, object]], within: float = 5.0, *, channel: str | None = None
    ) -> int:
        """A DeviceControl to the registered device, for itself or one of its `channel`s."""
        dev = self.devices[device_id]
        self._sn += 1
        target = channel or device_id
        body = manscdp.encode(
            "Control", [("CmdType", "DeviceControl"), ("SN", self._sn), ("DeviceID", target), *items], self.charset
        )
        await self.message(dev, body, within)
        return self._sn

    async def message(self, dev: Device, body: bytes, within: float) -> SipMessage:
        assert self.endpoint is not None
        host, port = self.endpoint.local
        uri = f"sip:{dev.device_id}@{dev.addr[0]}:{dev.addr[1]}"
        req = SipMessage(
            f"MESSAGE {uri} SIP/2.0",
            [
                ("Via", f"SIP/2.0/{self.endpoint.via_transport} {host}:{port};rport;branch={new_branch()}"),
                ("From", f"<sip:{self.server_id}@{self.realm}>;tag={new_tag()}"),
                ("To", f"<sip:{dev.device_id}@{self.realm}>"),
                ("Call-ID", new_call_id(host)),
                ("CSeq", "1 MESSAGE"),
                ("Max-Forwards", "70"),
                ("Content-Type", manscdp.CONTENT_TYPE),
            ],
            body,
        )
        return await self.endpoint.request(req, dev.addr, within)

    async def invite(
        self, device_id: str, channel: str, rtp_port: int, ssrc: str, *, tcp: bool = False, setup: str = "passive"
    ) -> Invite:
        """Ask for a channel's live video to 127.0.0.1:rtp_port; ACKs a 200. The final response is in `.response`.

        Over TCP `setup` is this platform's role: passive (it listens on rtp_port) or active (it connects
        to the port in the device's answer: RtpTcpClient.connect)."""
        assert self.endpoint is not None
        dev = self.devices[device_id]
        host, port = self.endpoint.local
        media = "TCP/RTP/AVP" if tcp else "RTP/AVP"
        offer = (
            f"v=0\r\no={self.server_id} 0 0 IN IP4 127.0.0.1\r\ns=Play\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=video {rtp_port} {media} 96 98 97\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\n"
            + (f"a=setup:{setup}\r\na=connection:new\r\n" if tcp else "")
            + f"y={ssrc}\r\n"
        ).encode()
        call_id, tag = new_call_id(host), new_tag()
        uri = f"sip:{channel}@{dev.addr[0]}:{dev.addr[1]}"
        headers = [
            ("Via", f"SIP/2.0/{self.endpoint.via_transport} {host}:{port};rport;branch={new_branch()}"),
            ("From", f"<sip:{self.server_id}@{self.realm}>;tag={tag}"),
            ("To", f"<sip:{channel}@{self.realm}>"),
            ("Call-ID", call_id),
            ("CSeq", "20 INVITE"),
            ("Contact", f"<sip:{self.server_id}@{host}:{port}>"),
            ("Subject", f"{channel}:{ssrc},{self.server_id}:0"),
            ("Max-Forwards", "70"),
            ("Content-Type", "application/sdp"),
        ]
        resp = await self.endpoint.request(SipMessage(f"INVITE {uri} SIP/2.0", headers, offer), dev.addr, 10)
        call = Invite(uri, call_id, tag, resp.get("to") or "", resp, dev)
        if resp.status == 200:
            self._in_dialog(call, "ACK", 20)
        return call

    async def bye(self, call: Invite) -> SipMessage:
        assert self.endpoint is not None
        req = self._in_dialog(call, "BYE", 21, send=False)
        return await self.endpoint.request(req, call.device.addr, 5)

    def _in_dialog(self, call: Invite, method: str, cseq: int, send: bool = True) -> SipMessage:
        assert self.endpoint is not None
        host, port = self.endpoint.local
        req = SipMessage(
            f"{method} {call.uri} SIP/2.0",
            [
                ("Via", f"SIP/2.0/{self.endpoint.via_transport} {host}:{port};rport;branch={new_branch()}"),
                ("From", f"<sip:{self.server_id}@{self.realm}>;tag={call.tag}"),
                ("To", call.to),
                ("Call-ID", call.call_id),
                ("CSeq", f"{cseq} {method}"),
                ("Max-Forwards", "70"),
            ],
        )
        if send:
            self.endpoint.send(req, call.device.addr)
        return req

    def responses_for(self, sn: int) -> list[manscdp.Document]:
        return [r for r in self.responses if r.sn == sn]

    # ---- the device's requests -----------------------------------------------------------
    async def _on_request(self, req: SipMessage, addr: Addr) -> None:
        assert self.endpoint is not None
        try:
            if req.method == "REGISTER":
                self._register(req, addr)
            elif req.method in ("MESSAGE", "NOTIFY"):
                self._message(req, addr)
            elif req.method == "BYE":
                self.byes.append(req.call_id)
                self.endpoint.reply(req, addr, 200, "OK")
            else:
                self.endpoint.reply(req, addr, 405, "Method Not Allowed")
        finally:
            self.changed.set()

    def _register(self, req: SipMessage, addr: Addr) -> None:
        assert self.endpoint is not None
        self.register_attempts += 1
        auth = req.get("authorization")
        user = None
        if auth is not None:
            user = digest.verify(auth, self.password, "REGISTER", self.realm, self._nonces)
            if user is None:
                self.auth_failures += 1
                self.endpoint.reply(req, addr, 403, "Forbidden")
                return
        if user is None:
            nonce = secrets.token_hex(16)
            self._nonces.add(nonce)
            qop = ', qop="auth"' if self.qop else ""
            challenge = f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5{qop}'
            self.endpoint.reply(req, addr, 401, "Unauthorized", extra=[("WWW-Authenticate", challenge)])
            return
        expires = req.expires(3600)
        device_id = uri_user(req.get("from") or "")
        if expires == 0:
            self.devices.pop(device_id, None)
            self.unregisters += 1
        else:
            self.devices[device_id] = Device(device_id, addr, time.monotonic() + expires)
        self.endpoint.reply(req, addr, 200, "OK", extra=[("Expires", str(expires)), ("Date", _date())])

    def _message(self, req: SipMessage, addr: Addr) -> None:
        assert self.endpoint is not None
        try:
            doc = manscdp.decode(req.body)
        except manscdp.ManscdpError as exc:
            log.warning("sim: bad MANSCDP from %s: %s", addr, exc)
            self.endpoint.reply(req, addr, 400, "Bad Request")
            return
        dev = self.devices.get(doc.device_id) or self.devices.get(uri_user(req.get("from") or ""))
        if doc.root == "Notify" and doc.cmd_type == "Keepalive":
            if dev is None:
                self.endpoint.reply(req, addr, 403, "Forbidden")  # not registered: the device must register again
                return
            if not self.answer_keepalives:
                return
            dev.keepalives += 1
            dev.last_keepalive = time.monotonic()
        elif doc.root == "Notify" and doc.cmd_type == "Alarm":
            self.alarm_at.append(time.perf_counter())
            self.alarms.append(doc)
            log.info("sim: alarm from %s: %s", doc.device_id, doc.fields)
        elif doc.root == "Response":
            self.responses.append(doc)
            if doc.cmd_type == "RecordInfo":
                n = sum(1 for _ in doc.element.iter("Item"))
                log.info(
                    "sim: RecordInfo %s SN %d: %d of SumNum %s", doc.device_id, doc.sn, n, doc.fields.get("SumNum")
                )
        self.endpoint.reply(req, addr, 200, "OK")


@dataclass
class Invite:
    uri: str
    call_id: str
    tag: str
    to: str
    response: SipMessage
    device: Device


class RtpReceiver(asyncio.DatagramProtocol):
    """The platform's RTP port: keeps PS payloads in sequence order, checks the SSRC, decodes frames."""

    def __init__(self) -> None:
        self.packets: dict[int, bytes] = {}
        self.arrivals: list[float] = []  # time.monotonic() per packet
        self.ssrcs: set[int] = set()
        self.first_at: float | None = None
        self.last_frame: bytes | None = None  # JPEG of the last frame decode_frames decoded
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls) -> RtpReceiver:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        _seq, _, ssrc = struct.unpack("!HII", data[2:12])
        self.ssrcs.add(ssrc)
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.packets[len(self.packets)] = data[12:]  # arrival order: loopback does not reorder
        self.arrivals.append(time.monotonic())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def stream(self, until: float | None = None) -> bytes:
        """The PS bytes, or those of the packets that arrived before `until` (time.monotonic())."""
        keep = [i for i in sorted(self.packets) if until is None or self.arrivals[i] <= until]
        return b"".join(self.packets[i] for i in keep)

    def decode_frames(self, until: float | None = None, limit_s: float = 20.0) -> int:
        """Hands the reassembled PS to GStreamer (mpegpsdemux, openh264dec); the number of decoded frames."""
        gst = shutil.which("gst-launch-1.0") or "/usr/bin/gst-launch-1.0"
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "stream.ps"
            src.write_bytes(self.stream(until))
            # A stream cut mid-packet can stall the demuxer at its end: the frames written until then count.
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(  # noqa: S603 - fixed argv
                    [
                        gst,
                        "-q",
                        "filesrc",
                        f"location={src}",
                        "!",
                        "mpegpsdemux",
                        "!",
                        "h264parse",
                        "!",
                        "openh264dec",
                        "!",
                        "videoconvert",
                        "!",
                        "jpegenc",
                        "!",
                        "multifilesink",
                        f"location={tmp}/frame%04d.jpg",
                    ],
                    check=False,
                    capture_output=True,
                    timeout=limit_s,
                )
            frames = sorted(Path(tmp).glob("frame*.jpg"))
            if frames:
                self.last_frame = frames[-1].read_bytes()  # what the officer's screen showed last
            return len(frames)


class RtpTcpReceiver(RtpReceiver):
    """The platform's RTP port for RTP over TCP (`a=setup:passive`): RFC 4571 length-prefixed packets."""

    def __init__(self) -> None:
        super().__init__()
        self.server: asyncio.Server | None = None

    @classmethod
    async def open(cls) -> RtpTcpReceiver:
        self = cls()
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                self.datagram_received(await reader.readexactly(length), ("", 0))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class RtpTcpClient(RtpReceiver):
    """The platform's side of RTP over TCP with `a=setup:active`: it connects to the device's port."""

    def __init__(self) -> None:
        super().__init__()
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    async def connect(cls, answer: bytes) -> RtpTcpClient:
        """Connect to the c= address and m= port of the device's SDP answer (its a=setup:passive)."""
        got = sdp.parse_offer(answer)
        if got.transport != "tcp" or got.setup != "passive":
            raise ValueError(f"the device's answer is {got.transport}/{got.setup}, not a TCP listener")
        self = cls()
        reader, self.writer = await asyncio.open_connection(got.address, got.port)
        self.task = asyncio.create_task(self._read(reader))
        return self

    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                self.datagram_received(await reader.readexactly(length), ("", 0))

    @property
    def port(self) -> int:
        assert self.writer is not None
        return int(self.writer.get_extra_info("sockname")[1])

    @property
    def ended(self) -> bool:
        """The device closed the connection."""
        return self.task is not None and self.task.done()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.task is not None:
            self.task.cancel()


def _date() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())


async def _ask_registered(sim: PlatformSim, hours: float) -> None:
    """Like a platform operator: for each device that registers, read its catalog, then ask every camera
    channel's recordings over the last `hours` (the answers are logged as they arrive)."""
    asked: set[str] = set()
    while True:
        await asyncio.sleep(0.5)
        for device_id in [d for d in sim.devices if d not in asked]:
            asked.add(device_id)
            try:
                sn = await sim.query(device_id, "Catalog")
                await sim.wait_for(lambda sn=sn: bool(sim.responses_for(sn)), within=10)
                await asyncio.sleep(1.0)  # the later catalog pages
                cameras = [i for d in sim.responses_for(sn) for i in d.element.iter("Item")]
                now = time.time()
                start, end = (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) for t in (now - hours * 3600, now))
                for item in cameras:
                    channel = item.findtext("DeviceID") or ""
                    if channel[10:13] in ("131", "132"):
                        await sim.record_info(device_id, channel, start, end)
            except (OSError, TimeoutError, KeyError) as exc:
                log.warning("sim: asking %s failed: %s", device_id, exc)


async def _main() -> None:
    ap = argparse.ArgumentParser(description="GB/T 28181 platform simulator")
    ap.add_argument("--port", type=int, default=15060)
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--password", default="12345678")
    ap.add_argument(
        "--record-info", type=float, metavar="HOURS", help="after a registration, ask each camera's recordings"
    )
    args = ap.parse_args()
    sim = await PlatformSim(password=args.password, transport=args.transport).start("127.0.0.1", args.port)
    log.info("GB/T 28181 platform simulator on %s", sim.url)
    if args.record_info:
        await _ask_registered(sim, args.record_info)
    await asyncio.Event().wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_main())
