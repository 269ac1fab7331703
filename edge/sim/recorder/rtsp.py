"""RTSP replay of the simulated NVR's recordings, per the ONVIF Streaming Specification (section 6).

rtsp://HOST:PORT/replay/<recording token>. DESCRIBE gives an H.264 SDP; SETUP takes RTP over the
RTSP connection (RTP/AVP/TCP interleaved, the transport every ONVIF replay server must offer; UDP
gets 461); PLAY needs `Require: onvif-replay` and a `Range: clock=…` (absolute UTC) and honours
`Rate-Control: no` (as fast as the TCP connection takes it) or paces in real time. Every picture's
first packet carries the ONVIF header extension (NTP time, clean-point flag); the end of the range
is an RTCP sender report plus BYE (at once, for a range with nothing recorded in it). Hostile
modes for tests: "stall" (PLAY answered, then silence), "endless" (the range never ends),
"garbage" (not RTSP at all).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.sim.recorder.h264 import NAL_PPS, NAL_SPS, AccessUnit, RtpPacketizer, nal_type, rtcp_bye
from edge.sim.recorder.ring import SegmentRing

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024  # an RTSP request head bigger than this is not a client we serve
HEAD_TIMEOUT_S = 30.0
HOSTILE = ("", "stall", "endless", "garbage")
# The spec's clock format: YYYYMMDDTHHMMSS[.fraction]Z.
_CLOCK_FORMATS = ("%Y%m%dT%H%M%S.%fZ", "%Y%m%dT%H%M%SZ")


class RangeError(ValueError):
    pass


def parse_clock(value: str) -> float:
    for fmt in _CLOCK_FORMATS:
        with contextlib.suppress(ValueError):
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
    raise RangeError(f"not a clock time: {value!r}")


def format_clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"


def parse_range(header: str) -> tuple[float, float | None]:
    """`clock=START-[END]` -> (start, end or None). npt and smpte ranges are not replay ranges here."""
    kind, _, spec = header.strip().partition("=")
    if kind.strip() != "clock" or "-" not in spec:
        raise RangeError(f"only absolute clock ranges are served, got {header!r}")
    start, _, end = spec.partition("-")
    return parse_clock(start.strip()), (parse_clock(end.strip()) if end.strip() else None)


@dataclass(slots=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(slots=True)
class ReplayLog:
    """What clients asked, for tests: one dict per PLAY (its Require, Range and Rate-Control)."""

    plays: list[dict[str, str]] = field(default_factory=list)


Lookup = Callable[[str], SegmentRing | None]


class ReplayServer:
    def __init__(self, lookup: Lookup, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lookup = lookup
        self.host = host
        self.port = port
        self.mode = ""  # one of HOSTILE
        self.log = ReplayLog()
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    def url(self, token: str) -> str:
        return f"rtsp://{self.host}:{self.port}/replay/{token}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        for task in list(self._conns):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await _Session(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            log.debug("sim replay: connection ended: %s", exc)
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _Session:
    """One RTSP connection: the request loop, and the replay it starts."""

    def __init__(self, server: ReplayServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.session = f"{random.getrandbits(32):08X}"
        self.ring: SegmentRing | None = None
        self.channel = 0
        self.sending: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            while (req := await self._read()) is not None:
                await self._handle(req)
        finally:
            if self.sending is not None:
                self.sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.sending

    async def _read(self) -> Request | None:
        async with asyncio.timeout(HEAD_TIMEOUT_S if self.sending is None else None):
            while True:
                first = await self.reader.read(1)
                if not first:
                    return None
                if first == b"$":  # the client's interleaved RTCP receiver reports: read and drop
                    _, size = struct.unpack("!BH", await self.reader.readexactly(3))
                    await self.reader.readexactly(size)
                    continue
                head = first + await self.reader.readuntil(b"\r\n\r\n")
                break
        if len(head) > MAX_HEAD:
            raise ConnectionError("request head too large")
        lines = head.decode("utf-8", "replace").split("\r\n")
        parts = lines[0].split()
        if len(parts) != 3:
            raise ConnectionError("bad request line")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await self.reader.readexactly(min(length, MAX_HEAD))
        return Request(parts[0], parts[1], headers)

    async def _reply(
        self, req: Request, code: int, text: str, extra: dict[str, str] | None = None, body: str = ""
    ) -> None:
        if self.server.mode == "garbage":
            self.writer.write(bytes(random.getrandbits(8) for _ in range(512)))
            await self.writer.drain()
            return
        head = [f"RTSP/1.0 {code} {text}", f"CSeq: {req.header('cseq')}", "Server: edge-sim-nvr"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        data = body.encode()
        if data:
            head.append(f"Content-Length: {len(data)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()

    def _token(self, url: str) -> str:
        path = url.split("://", 1)[-1].partition("/")[2]
        parts = path.split("/")
        return parts[1] if len(parts) >= 2 and parts[0] == "replay" else ""

    async def _handle(self, req: Request) -> None:
        match req.method:
            case "OPTIONS":
                await self._reply(req, 200, "OK", {"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN"})
            case "DESCRIBE":
                await self._describe(req)
            case "SETUP":
                await self._setup(req)
            case "PLAY":
                await self._play(req)
            case "PAUSE":
                await self._stop_sending()
                await self._reply(req, 200, "OK", {"Session": self.session})
            case "TEARDOWN":
                await self._stop_sending()
                await self._reply(req, 200, "OK", {"Session": self.session})
                raise ConnectionError("teardown")
            case _:
                await self._reply(req, 405, "Method Not Allowed")

    async def _describe(self, req: Request) -> None:
        ring = self.server.lookup(self._token(req.url))
        span = ring.span() if ring is not None else None
        if ring is None or span is None:
            await self._reply(req, 404, "Not Found")
            return
        self.ring = ring
        sps, pps = _parameter_sets(ring)
        sprop = ",".join(base64.b64encode(x).decode() for x in (sps, pps) if x)
        sdp = (
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=edge sim NVR replay\r\nt=0 0\r\n"
            f"a=range:clock={format_clock(span[0])}-{format_clock(span[1])}\r\n"
            "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n"
            f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\na=control:track1\r\na=recvonly\r\n"
        )
        base = req.url.rstrip("/") + "/"
        await self._reply(req, 200, "OK", {"Content-Base": base, "Content-Type": "application/sdp"}, sdp)

    async def _setup(self, req: Request) -> None:
        transport = req.header("transport")
        if "RTP/AVP/TCP" not in transport:
            await self._reply(req, 461, "Unsupported Transport")
            return
        for part in transport.split(";"):
            if part.startswith("interleaved="):
                self.channel = int(part.split("=")[1].split("-")[0])
        extra = {"Transport": f"RTP/AVP/TCP;unicast;interleaved={self.channel}-{self.channel + 1}"}
        await self._reply(req, 200, "OK", extra | {"Session": f"{self.session};timeout=60"})

    async def _play(self, req: Request) -> None:
        plays = self.server.log.plays
        plays.append({k: req.header(k) for k in ("require", "range", "rate-control", "immediate")})
        del plays[:-100]
        if "onvif-replay" not in req.header("require"):
            await self._reply(req, 551, "Option not supported", {"Unsupported": req.header("require") or "-"})
            return
        ring = self.ring
        try:
            start, end = parse_range(req.header("range"))
        except RangeError:
            await self._reply(req, 457, "Invalid Range")
            return
        if ring is None:
            await self._reply(req, 455, "Method Not Valid in This State")
            return
        await self._stop_sending()
        pk = RtpPacketizer(ssrc=random.getrandbits(32))
        units = ring.units(start, end)
        if not units:  # nothing recorded in that range (not yet, or no more): the replay ends at once
            await self._reply(req, 200, "OK", {"Session": self.session, "Range": req.header("range")})
            self.sending = asyncio.create_task(self._bye(pk, 0, 0, 0))
            return
        shown = f"clock={format_clock(units[0].ts)}-{format_clock(units[-1].ts)}"
        info = f"url={req.url.rstrip('/')}/track1;seq={pk.seq};rtptime=0"
        await self._reply(req, 200, "OK", {"Session": self.session, "Range": shown, "RTP-Info": info})
        paced = req.header("rate-control").lower() != "no"
        self.sending = asyncio.create_task(self._send(units, pk, paced))

    async def _stop_sending(self) -> None:
        if self.sending is not None:
            self.sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sending
            self.sending = None

    async def _send(self, units: list[AccessUnit], pk: RtpPacketizer, paced: bool) -> None:
        if self.server.mode == "stall":
            await asyncio.Event().wait()
        packets = octets = 0
        t0, first = time.monotonic(), units[0].ts
        loops = 0
        while True:
            for i, au in enumerate(units):
                if paced:
                    await asyncio.sleep(max(0.0, (au.ts - first) - (time.monotonic() - t0)))
                shifted = AccessUnit(au.ts + loops * (units[-1].ts - first + 0.1), au.nals)
                for pkt in pk.packets(shifted, discontinuity=i == 0):
                    self.writer.write(struct.pack("!BBH", 0x24, self.channel, len(pkt)) + pkt)
                    packets += 1
                    octets += len(pkt) - 12
                await self.writer.drain()
            if self.server.mode != "endless":
                break
            loops += 1
        await self._bye(pk, pk.rtp_time(units[-1].ts), packets, octets)

    async def _bye(self, pk: RtpPacketizer, rtp_ts: int, packets: int, octets: int) -> None:
        bye = rtcp_bye(pk.ssrc, rtp_ts, packets, octets, time.time())
        self.writer.write(struct.pack("!BBH", 0x24, self.channel + 1, len(bye)) + bye)
        await self.writer.drain()


def _parameter_sets(ring: SegmentRing) -> tuple[bytes, bytes]:
    sps = pps = b""
    for seg in ring.closed:
        for n in seg.units[0].nals:
            if nal_type(n) == NAL_SPS:
                sps = n
            elif nal_type(n) == NAL_PPS:
                pps = n
        if sps and pps:
            break
    return sps, pps
