"""One DC-09 channel to one receiver: stop-and-wait, replies read as frames with a deadline, verified.

A send either returns the receiver's verified ACK or raises `Dc09Error` with a stable reason:
connect, connection, timeout, nak, duh, bad_reply. Bytes from the receiver are split into reply
frames as they arrive (TCP and UDP alike) and queued; whatever is queued when the next frame goes
out was not an answer to it and is dropped and counted as ``unsolicited`` — a reply is only taken
while we wait for it. A reply that does not answer the frame in flight (edge.relay.dc09.verify) is
counted by reason and ignored, and the wait goes on until the real answer or the deadline. A NAK
with the receiver's time corrects our clock offset and the same frame (same sequence) goes again, once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

from prometheus_client import Counter

from edge.metrics import bad_input
from edge.relay.dc09.frame import Frame, Rejection, encode, parse_reply
from edge.relay.dc09.stream import ReplySplitter
from edge.relay.dc09.verify import ACK_KINDS, Sent, check

log = logging.getLogger(__name__)

# After a clock correction the frame is re-sent once; a second NAK means something else is wrong.
NAK_RESENDS = 1
# ACKs already taken, remembered to refuse a byte-for-byte replay; a few minutes of traffic.
_TAKEN_KEPT = 64

REPLIES_REJECTED = Counter(
    "edge_relay_replies_rejected_total", "Receiver replies not taken as an answer to our frame", ["reason"]
)


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
Item = bytes | ConnectionError


class _Replies(asyncio.Protocol, asyncio.DatagramProtocol):
    """Queues reply frames as they arrive, whether or not anyone waits (TCP stream or UDP datagrams)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.lost = False
        self._split = ReplySplitter()

    def data_received(self, data: bytes) -> None:
        for frame in self._split.feed(data):
            self.queue.put_nowait(frame)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.queue.put_nowait(ConnectionError(str(exc) if exc else "closed by the receiver"))

    def error_received(self, exc: Exception) -> None:
        self.queue.put_nowait(ConnectionError(str(exc)))


def reject(reason: str, detail: str) -> None:
    REPLIES_REJECTED.labels(reason).inc()
    bad_input(log, "dc09", reason, detail)


class Dc09Channel:
    """A connection to one receiver for one purpose (alarms, or supervision), one frame in flight."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        account: str,
        key: bytes | None,
        clock: Clock,
        connect_timeout: float,
        ack_timeout: float,
    ) -> None:
        self.receiver = receiver
        self._account = account.upper()
        self._key = key
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._ack_timeout = ack_timeout
        self._lock = asyncio.Lock()
        self._transport: asyncio.BaseTransport | None = None
        self._replies: _Replies | None = None
        self._taken: collections.deque[bytes] = collections.deque(maxlen=_TAKEN_KEPT)

    async def send(self, build: FrameBuilder, sequence: int) -> Frame:
        """Send the frame `build(sequence, time)` until ACKed; returns the ACK. Raises Dc09Error."""
        async with self._lock:
            for _ in range(NAK_RESENDS + 1):
                at = self._clock.now()
                frame = build(sequence, at)
                sent = Sent(sequence, frame.account or self._account, frame.receiver, frame.line, bool(self._key), at)
                reply = await self._exchange(encode(frame, self._key), sent)
                if reply.kind in ACK_KINDS:
                    return reply
                if reply.kind == "DUH":
                    raise Dc09Error("duh", "receiver did not understand the message")
                if reply.timestamp is None:
                    raise Dc09Error("nak", "NAK without time (unknown account or key?)")
                self._clock.correct(reply.timestamp)
            raise Dc09Error("nak", "still NAK after correcting the clock")

    async def close(self) -> None:
        transport, self._transport, self._replies = self._transport, None, None
        if transport is not None:
            transport.close()

    def judge(self, raw: bytes, sent: Sent) -> Frame | None:
        """The reply if it answers `sent`; None (counted) if it does not; raises on an unreadable one."""
        reply = parse_reply(raw, self._key)
        if isinstance(reply, Rejection):
            reject(reply.reason, reply.detail)
            raise Dc09Error("bad_reply", reply.reason)
        reason = check(reply, sent)
        if reason is None and reply.kind in ACK_KINDS and raw in self._taken:
            reason = "replayed"
        if reason is not None:
            reject(reason, f"{reply.kind} {reply.sequence:04d} #{reply.account} to our {sent.sequence:04d}")
            return None
        if reply.kind in ACK_KINDS:
            self._taken.append(raw)
        return reply

    async def _exchange(self, raw: bytes, sent: Sent) -> Frame:
        fresh = self._transport is None or (self._replies is not None and self._replies.lost)
        try:
            replies = await self._ready()
            self._drop_unsolicited(replies)
            self._write(raw)
            return await self._await_reply(replies, sent)
        except ConnectionError as exc:
            await self.close()
            if not fresh and not self.receiver.udp:  # the receiver closed an idle connection: one more try
                return await self._exchange(raw, sent)
            raise Dc09Error("connection", str(exc) or type(exc).__name__) from exc
        except OSError as exc:
            await self.close()
            raise Dc09Error("connection", str(exc)) from exc
        except BaseException:
            await self.close()  # timeout or cancel mid-exchange: the stream state is unknown
            raise

    async def _ready(self) -> _Replies:
        if self._replies is not None and self._replies.lost:
            await self.close()
        if self._transport is None or self._replies is None:
            self._transport, self._replies = await self._connect()
        return self._replies

    def _write(self, raw: bytes) -> None:
        transport = self._transport
        # The selector loop's datagram transport is no asyncio.DatagramTransport: go by the receiver's scheme.
        if self.receiver.udp and transport is not None:
            cast("asyncio.DatagramTransport", transport).sendto(raw)
        elif isinstance(transport, asyncio.WriteTransport):
            transport.write(raw)
        else:
            raise ConnectionError("no connection")

    async def _connect(self) -> tuple[asyncio.BaseTransport, _Replies]:
        r, loop = self.receiver, asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                if r.udp:
                    return await loop.create_datagram_endpoint(_Replies, remote_addr=(r.host, r.port))
                return await loop.create_connection(_Replies, r.host, r.port)
        except TimeoutError as exc:
            raise Dc09Error("connect", f"no connection within {self._connect_timeout} s") from exc
        except OSError as exc:
            raise Dc09Error("connect", exc.strerror or str(exc)) from exc

    @staticmethod
    def _drop_unsolicited(replies: _Replies) -> None:
        while not replies.queue.empty():
            item = replies.queue.get_nowait()
            if isinstance(item, ConnectionError):
                raise item
            reject("unsolicited", f"{len(item)} bytes arrived while no frame was in flight")

    async def _await_reply(self, replies: _Replies, sent: Sent) -> Frame:
        try:
            async with asyncio.timeout(self._ack_timeout):
                while True:
                    item = await replies.queue.get()
                    if isinstance(item, ConnectionError):
                        raise item
                    reply = self.judge(item, sent)
                    if reply is not None:
                        return reply
        except TimeoutError as exc:
            raise Dc09Error("timeout", f"no ACK within {self._ack_timeout} s") from exc
