"""A police alarm-receiving centre for the demo and the tests: a SIA DC-09 TCP receiver on our own codec.

It decodes every frame strictly, answers ACK (sequence, receiver, line and account echoed, encrypted
when the frame was), NAK with its own time when the frame's timestamp is outside the DC-09 window,
and stays silent on a CRC error as DC-09 receivers do. Every report it accepts is kept in `reports`,
appended to a JSON-lines log and handed to `on_report` so the demo can print it.

Tests set `mode` to make it hostile (edge.sim.receiver_hostile): forge, replay, NAK, answer only
NULLs, pad differently, or send an ACK nobody waited for. It serves TCP, or UDP with `udp=True`.

As its own process, ``python -m edge.sim.receiver [--udp] [--mode M] [--key-file F] [--port P]``
prints one JSON line per event on stdout: ``{"ready": url}`` first, then ``{"report": {...}}`` for
every report it takes and ``{"forged": sequence}`` for every frame a hostile mode answered instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.events import now_ms
from edge.relay.dc09.content import parse_data
from edge.relay.dc09.crypto import load_key
from edge.relay.dc09.frame import Frame, Rejection, decode, encode
from edge.relay.message import PoliceCode
from edge.sim.receiver_hostile import FORGING, MODES, ack_for, forged, other_zeros, pkcs7_ack, unreadable_ack

log = logging.getLogger(__name__)

# DC-09 section 5.5.1.9: a receiver rejects messages stamped more than 20 s behind or 40 s ahead of it.
TS_BEHIND_S = 20.0
TS_AHEAD_S = 40.0
# A relay holds its connection open between messages; an idle peer for this long is gone.
IDLE_TIMEOUT_S = 300.0
MAX_FRAME = 4096  # the DC-09 length field allows at most 0xFFF characters

LABELS: dict[PoliceCode, tuple[str, str]] = {
    PoliceCode.PANIC: ("紧急报警", "panic alarm"),
    PoliceCode.PANIC_RESTORE: ("报警恢复", "panic restore"),
    PoliceCode.TAMPER: ("防拆报警", "tamper"),
    PoliceCode.TAMPER_RESTORE: ("防拆恢复", "tamper restore"),
    PoliceCode.TROUBLE: ("设备故障", "trouble"),
    PoliceCode.TROUBLE_RESTORE: ("故障恢复", "trouble restore"),
    PoliceCode.TEST_MANUAL: ("手动测试", "manual test"),
    PoliceCode.TEST_PERIODIC: ("定期测试", "periodic test"),
}


@dataclass(frozen=True, slots=True)
class Report:
    """One accepted message as the receiver saw it."""

    received_ms: int
    peer: str
    kind: str  # ADM-CID, SIA-DCS or NULL
    sequence: int
    account: str | None
    data: str
    code: str | None  # Contact ID event ("1120") or SIA code ("PA"); None for NULL
    name: str | None  # PoliceCode name, e.g. PANIC
    zone: int | None
    test: bool
    encrypted: bool
    xdata: tuple[str, ...]
    duplicate: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def line(self) -> str:
        at = datetime.fromtimestamp(self.received_ms / 1000, tz=UTC).astimezone().strftime("%H:%M:%S")
        if self.kind == "NULL":
            return f"[接警中心 police] {at} #{self.account} 链路检测 NULL supervision (seq {self.sequence:04d}) ACK"
        zh, en = LABELS.get(PoliceCode[self.name], ("?", "?")) if self.name else ("未知", "unknown")
        dup = " 重复 duplicate" if self.duplicate else ""
        zone = f"{self.zone:03d}" if self.zone is not None else "---"
        return (
            f"[接警中心 police] {at} #{self.account} {self.kind} {self.code} {zh} {en} "
            f"防区 zone {zone} (seq {self.sequence:04d}){dup} ACK"
        )


def _report(frame: Frame, peer: str, duplicate: bool) -> Report:
    code = name = None
    zone: int | None = None
    if frame.kind != "NULL":
        parsed = parse_data(frame.kind, frame.data)
        if not isinstance(parsed, Rejection):
            pc, zone = parsed
            name = pc.name
            code = pc.cid if frame.kind == "ADM-CID" else pc.sia
    test = name in (PoliceCode.TEST_MANUAL.name, PoliceCode.TEST_PERIODIC.name)
    return Report(
        now_ms(), peer, frame.kind, frame.sequence, frame.account, frame.data, code, name, zone, test,
        frame.encrypted, frame.xdata, duplicate,
    )  # fmt: skip


class DemoReceiver:
    """start() / port / reports / wait_for(pred) / stop(). `key` is the AES key when encryption is on."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        key: bytes | None = None,
        log_path: Path | None = None,
        on_report: Callable[[Report], None] | None = None,
        *,
        udp: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port, self.key, self.udp = host, port, key, udp
        self.clock = clock
        self.log_path = log_path
        self.on_report = on_report
        self.reports: list[Report] = []
        self.rejected: dict[str, int] = {}
        self.ack_delay_s = 0.0  # tests slow the receiver down with this
        self.silent = False  # tests make the receiver swallow frames without answering
        self.mode = "normal"  # one of edge.sim.receiver_hostile.MODES
        self.forged = 0  # frames answered by a hostile mode without taking the report
        self.on_forged: Callable[[Frame], None] | None = None
        self.captured: dict[int, bytes] = {}  # sequence -> the last ACK sent for it (what "replay" plays back)
        self._swallow: int | None = None  # "unsolicited": the sequence already ACKed ahead of its frame
        self._udp: asyncio.DatagramTransport | None = None
        self._seen: set[tuple[str | None, int, str]] = set()
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"dc09{'+udp' if self.udp else ''}://{self.host}:{self.port}"

    async def start(self) -> DemoReceiver:
        if self.udp:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpServer(self), local_addr=(self.host, self.port)
            )
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
            return self
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_FRAME * 2)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("DC-09 receiver listening on %s", self.url)
        return self

    async def stop(self) -> None:
        udp, self._udp = self._udp, None
        if udp is not None:
            udp.close()
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for w in list(self._writers):
            w.close()
        await server.wait_closed()

    async def wait_for(self, pred: Callable[[Report], bool], within: float = 10.0) -> Report:
        async with asyncio.timeout(within):
            while True:
                for r in self.reports:
                    if pred(r):
                        return r
                self._changed.clear()
                await self._changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        self._writers.add(writer)
        try:
            while True:
                async with asyncio.timeout(IDLE_TIMEOUT_S):
                    raw = await reader.readuntil(b"\r")
                reply = self.handle(raw.lstrip(b"\n"), peer)
                if reply is not None and not self.silent:
                    if self.ack_delay_s:
                        await asyncio.sleep(self.ack_delay_s)
                    writer.write(reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError) as exc:
            log.debug("receiver: %s closed: %r", peer, exc)
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        log.warning("receiver: rejected frame (%s): %s", reason, detail)

    def handle(self, raw: bytes, peer: str = "") -> bytes | None:
        """One frame in, the reply bytes out (None: stay silent). Pure apart from `reports`."""
        if self.mode not in MODES:
            raise ValueError(f"unknown receiver mode {self.mode!r}")
        frame = decode(b"\n" + raw if not raw.startswith(b"\n") else raw, self.key)
        now = datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0)
        if isinstance(frame, Rejection):
            self._reject(frame.reason, frame.detail)
            return None if frame.reason in ("crc", "framing", "length") else self._nak(now)
        if self.mode in FORGING or self.mode == "replay" or frame.sequence == self._swallow:
            self._swallow = None
            self.forged += 1  # the report is not taken: only the reply is played
            if self.on_forged is not None:
                self.on_forged(frame)
            return self.captured.get(frame.sequence) if self.mode == "replay" else self._forge(frame, now)
        if frame.timestamp is not None:
            skew = (frame.timestamp - now).total_seconds()
            if skew < -TS_BEHIND_S or skew > TS_AHEAD_S:
                self._reject("timestamp_window", f"frame is {skew:+.0f} s off the receiver clock")
                return self._nak(now)
        self._take(frame, peer)
        enc = self.key if frame.encrypted else None
        if self.mode == "pkcs7" and enc is not None:
            reply = pkcs7_ack(frame, enc, now)
        elif self.mode == "unreadable" and frame.kind != "NULL":
            reply = unreadable_ack(frame, now)
        elif self.mode == "account_zeros":
            reply = encode(ack_for(frame, now, account=other_zeros(frame.account)), enc)
        else:
            reply = encode(ack_for(frame, now), enc)
        self.captured[frame.sequence] = reply
        if self.mode == "unsolicited" and frame.kind != "NULL":
            self._swallow = frame.sequence % 9999 + 1  # ACK the next frame before it is even sent
            reply += encode(ack_for(frame, now, sequence=self._swallow), enc)
        return reply

    def _forge(self, frame: Frame, now: datetime) -> bytes | None:
        if self.mode == "unsolicited":
            return None  # its ACK went out ahead of it; the frame itself is dropped
        return forged(self.mode, frame, self.key, now)

    def _take(self, frame: Frame, peer: str) -> None:
        key = (frame.account, frame.sequence, frame.data)
        duplicate = key in self._seen and frame.kind != "NULL"
        self._seen.add(key)
        report = _report(frame, peer, duplicate)
        self.reports.append(report)
        self._changed.set()
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
        if self.on_report is not None:
            self.on_report(report)

    def _nak(self, now: datetime) -> bytes:
        # The NAK carries the receiver's time so the sender can correct its clock and resend.
        return encode(Frame(kind="NAK", sequence=0, account=None, receiver="0", line="0", timestamp=now))


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, receiver: DemoReceiver) -> None:
        self.receiver = receiver
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        reply = self.receiver.handle(data.strip(b"\r\n") + b"\r", f"{addr[0]}:{addr[1]}")
        if reply is not None and not self.receiver.silent and self.transport is not None:
            self.transport.sendto(reply, addr)  # type: ignore[attr-defined]


def _print(doc: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    sys.stdout.flush()


async def _serve_forever(args: argparse.Namespace) -> None:
    rx = DemoReceiver(
        args.host,
        args.port,
        load_key(args.key_file),
        args.log,
        on_report=lambda r: _print({"report": r.as_dict()}),
        udp=args.udp,
    )
    rx.mode = args.mode
    rx.on_forged = lambda f: _print({"forged": f.sequence})
    await rx.start()
    _print({"ready": rx.url})
    try:
        await asyncio.Event().wait()
    finally:
        await rx.stop()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m edge.sim.receiver", description="A DC-09 receiver for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--udp", action="store_true", help="serve DC-09 over UDP instead of TCP")
    p.add_argument("--key-file", type=Path, default=None, help="AES key as hex digits, as the relay's key_file")
    p.add_argument("--mode", default="normal", choices=sorted(MODES), help="normal, or how to be hostile")
    p.add_argument("--log", type=Path, default=None, help="also append every report taken to this JSON-lines file")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args))


if __name__ == "__main__":
    main()
