"""One DC-09 channel to one receiver: stop-and-wait, framed reads with timeouts, ACK verification.

A send either returns the receiver's matching ACK or raises `Dc09Error` with a stable reason:
connect, connection, timeout, nak, duh, bad_reply. Replies are read as frames (LF ... CR, or a
bare ``"NAK"``) from a buffer, never as "one read is one reply". An ACK must carry our sequence
and account; others are stale (a late ACK for an earlier timed-out frame) and ignored. A NAK with
the receiver's time corrects our clock offset and the same frame goes again, once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from edge.metrics import bad_input
from edge.relay.dc09.frame import MAX_FRAME, Frame, Rejection, encode, parse_reply
from edge.relay.sequence import SequenceAllocator

log = logging.getLogger(__name__)

# After a clock correction the frame is re-sent once; a second NAK means something else is wrong.
NAK_RESENDS = 1
_READ_CHUNK = 512  # bytes per read; frames are reassembled from the buffer, whatever the chunking


class Dc09Error(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Receiver:
    url: str
    host: str
    port: int
    udp: bool

    @classmethod
    def parse(cls, url: str) -> Receiver:
        parts = urlsplit(url)
        if not parts.hostname or parts.port is None:
            raise ValueError(f"receiver {url!r} needs host and port")
        return cls(url, parts.hostname, parts.port, parts.scheme == "dc09+udp")


class Clock:
    """Our idea of the receiver's time: the local clock plus an offset learnt from NAKs."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self.offset_s = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._source() + self.offset_s, UTC).replace(microsecond=0)

    def correct(self, receiver_time: datetime) -> None:
        self.offset_s = receiver_time.timestamp() - self._source()
        log.warning("dc09: clock offset corrected to %+.0f s from the receiver's NAK", self.offset_s)


FrameBuilder = Callable[[int, datetime], Frame]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.queue.put_nowait(exc)


class Dc09Channel:
    """A connection to one receiver for one purpose (alarms, or supervision), one frame in flight."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        account: str,
        key: bytes | None,
        sequences: SequenceAllocator,
        clock: Clock,
        connect_timeout: float,
        ack_timeout: float,
    ) -> None:
        self.receiver = receiver
        self._account = account.upper()
        self._key = key
        self._sequences = sequences
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._ack_timeout = ack_timeout
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: tuple[asyncio.DatagramTransport, _Udp] | None = None
        self._buf = b""

    async def send(self, build: FrameBuilder, sequence: int | None = None) -> tuple[int, Frame]:
        """Send the frame `build(sequence, time)` until ACKed; returns (sequence, ack). Raises Dc09Error."""
        async with self._lock:
            seq = sequence if sequence is not None else self._sequences.next()
            for _ in range(NAK_RESENDS + 1):
                raw = encode(build(seq, self._clock.now()), self._key)
                reply = await self._exchange(raw, seq)
                if reply.kind in ("ACK", "RSP"):
                    return seq, reply
                if reply.kind == "DUH":
                    raise Dc09Error("duh", "receiver did not understand the message")
                if reply.timestamp is None:
                    raise Dc09Error("nak", "NAK without time (unknown account or key?)")
                self._clock.correct(reply.timestamp)
            raise Dc09Error("nak", "still NAK after correcting the clock")

    async def close(self) -> None:
        writer, self._reader, self._writer, self._buf = self._writer, None, None, b""
        if writer is not None:
            writer.close()
            try:
                async with asyncio.timeout(1):
                    await writer.wait_closed()
            except (OSError, TimeoutError):
                pass
        if self._udp is not None:
            self._udp[0].close()
            self._udp = None

    async def _exchange(self, raw: bytes, seq: int) -> Frame:
        if self.receiver.udp:
            return await self._exchange_udp(raw, seq)
        fresh = self._writer is None
        try:
            if self._writer is None:
                await self._connect()
            assert self._writer is not None
            self._writer.write(raw)
            return await self._await_reply(seq)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            await self.close()
            if not fresh:  # the receiver closed an idle connection: one immediate try on a new one
                return await self._exchange(raw, seq)
            raise Dc09Error("connection", str(exc) or type(exc).__name__) from exc
        except OSError as exc:
            await self.close()
            raise Dc09Error("connection", str(exc)) from exc
        except BaseException:
            await self.close()  # timeout or cancel mid-exchange: the stream state is unknown
            raise

    async def _connect(self) -> None:
        r = self.receiver
        try:
            async with asyncio.timeout(self._connect_timeout):
                self._reader, self._writer = await asyncio.open_connection(r.host, r.port)
        except TimeoutError as exc:
            raise Dc09Error("connect", f"no connection within {self._connect_timeout} s") from exc
        except OSError as exc:
            raise Dc09Error("connect", exc.strerror or str(exc)) from exc

    async def _await_reply(self, seq: int) -> Frame:
        deadline = asyncio.get_running_loop().time() + self._ack_timeout
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    reply = self._check(await self._read_reply(), seq)
                    if reply is not None:
                        return reply
        except TimeoutError as exc:
            raise Dc09Error("timeout", f"no ACK within {self._ack_timeout} s") from exc

    async def _read_reply(self) -> bytes:
        assert self._reader is not None
        while True:
            self._buf = self._buf.lstrip(b" \x00")
            if self._buf.startswith(b'"'):  # a bare reply such as "NAK"
                end = self._buf.find(b'"', 1)
                if end > 0:
                    frame, self._buf = self._buf[: end + 1], self._buf[end + 1 :]
                    return frame
            elif self._buf.startswith(b"\n"):
                end = self._buf.find(b"\r")
                if end > 0:
                    frame, self._buf = self._buf[: end + 1], self._buf[end + 1 :]
                    return frame
            elif self._buf:
                skip = min((i for i in (self._buf.find(b"\n"), self._buf.find(b'"')) if i > 0), default=len(self._buf))
                bad_input(log, "dc09", "garbage", repr(self._buf[:skip][:32]))
                self._buf = self._buf[skip:]
                continue
            if len(self._buf) > MAX_FRAME:
                bad_input(log, "dc09", "overflow", f"{len(self._buf)} bytes without a frame end")
                self._buf = b""
            chunk = await self._reader.read(_READ_CHUNK)
            if not chunk:
                raise asyncio.IncompleteReadError(self._buf, None)
            self._buf += chunk

    def _check(self, raw: bytes, seq: int) -> Frame | None:
        """The reply if it answers frame `seq`; None (counted) if stale; raises on a rejection."""
        reply = parse_reply(raw, self._key)
        if isinstance(reply, Rejection):
            bad_input(log, "dc09", reply.reason, reply.detail)
            raise Dc09Error("bad_reply", reply.reason)
        if reply.kind == "NAK" and reply.sequence in (0, seq):
            return reply
        if reply.sequence != seq:
            bad_input(log, "dc09", "wrong_sequence", f"{reply.kind} {reply.sequence:04d}, waiting for {seq:04d}")
            return None
        if reply.kind in ("ACK", "RSP") and reply.account not in (None, self._account):
            bad_input(log, "dc09", "wrong_account", f"{reply.kind} for {reply.account}")
            return None
        return reply

    async def _exchange_udp(self, raw: bytes, seq: int) -> Frame:
        if self._udp is None:
            loop = asyncio.get_running_loop()
            transport, proto = await loop.create_datagram_endpoint(
                _Udp, remote_addr=(self.receiver.host, self.receiver.port)
            )
            self._udp = (transport, proto)
        transport, proto = self._udp
        transport.sendto(raw)
        deadline = asyncio.get_running_loop().time() + self._ack_timeout
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    item = await proto.queue.get()
                    if isinstance(item, Exception):
                        await self.close()
                        raise Dc09Error("connection", str(item))
                    reply = self._check(item, seq)
                    if reply is not None:
                        return reply
        except TimeoutError as exc:
            raise Dc09Error("timeout", f"no ACK within {self._ack_timeout} s") from exc
