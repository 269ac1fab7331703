"""SIP over UDP and TCP: one endpoint that sends requests (client transactions) and hands incoming
requests to a handler. Used by the gateway's device side and by the platform simulator.

UDP requests are retransmitted at 0.5, 1, 2, 4 s (RFC 3261 timer A, capped) until a final response or
the transaction timeout; a retransmitted incoming request gets the cached response again instead of
being handled twice. Malformed input is counted (`edge_bad_input_total{source="gb28181..."}`) and
dropped; on TCP it also closes that connection, since the framing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from edge.gb28181.sip import SipError, SipMessage, StreamFramer, parse, response
from edge.metrics import bad_input

log = logging.getLogger(__name__)

Addr = tuple[str, int]
Handler = Callable[[SipMessage, Addr], Awaitable[None]]

T1 = 0.5
T2 = 4.0
REPLAY_CACHE = 256  # responses kept for retransmitted requests
MAX_CONNECTIONS = 64  # inbound TCP connections a listening endpoint accepts at once


class SipTimeout(Exception):
    """No final response within the transaction timeout."""


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipEndpoint) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.owner.received(data, (str(addr[0]), int(str(addr[1]))))

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: the peer is down
        log.debug("gb28181: udp error %s", exc)


class SipEndpoint:
    def __init__(self, transport: str, handler: Handler, *, source: str = "gb28181") -> None:
        if transport not in ("udp", "tcp"):
            raise ValueError(f"unknown SIP transport {transport!r}")
        self.transport = transport
        self.handler = handler
        self.source = source
        self.local: Addr = ("0.0.0.0", 0)  # noqa: S104 - replaced by the bound address
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._writers: dict[Addr, asyncio.StreamWriter] = {}
        self._pending: dict[str, asyncio.Future[SipMessage]] = {}
        self._replies: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()

    @property
    def via_transport(self) -> str:
        return self.transport.upper()

    # ---- lifecycle ---------------------------------------------------------------------------
    async def listen(self, host: str, port: int) -> None:
        """Bind (UDP) or listen (TCP) on host:port; port 0 picks a free one."""
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            tr, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(host, port))
            self._udp = tr
            name = tr.get_extra_info("sockname")
        else:
            self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
            name = self._server.sockets[0].getsockname()
        self.local = (str(name[0]), int(name[1]))

    async def connect(self, remote: Addr, local_port: int = 0) -> None:
        """TCP: open the connection to the platform (requests both ways use it); UDP: bind."""
        if self.transport == "udp":
            await self.listen("0.0.0.0", local_port)  # noqa: S104 - the platform's address is not known here
            self.local = (_route_to(remote), self.local[1])
            return
        local = ("0.0.0.0", local_port) if local_port else None  # noqa: S104
        reader, writer = await asyncio.open_connection(remote[0], remote[1], local_addr=local)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name = writer.get_extra_info("sockname")
        self.local = (str(name[0]), int(name[1]))
        self._writers[remote] = writer
        self._spawn(self._read(reader, writer, remote))

    def connected(self, remote: Addr) -> bool:
        return self.transport == "udp" or remote in self._writers

    async def close(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(SipTimeout("endpoint closed"))
        if self._udp is not None:
            self._udp.close()
        for w in list(self._writers.values()):
            w.close()
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        self.closed.set()

    # ---- sending -----------------------------------------------------------------------------
    def send(self, msg: SipMessage, addr: Addr) -> None:
        data = msg.to_bytes()
        if self._udp is not None:
            self._udp.sendto(data, addr)
            return
        writer = self._writers.get(addr)
        if writer is None or writer.is_closing():
            raise ConnectionError(f"no SIP connection to {addr[0]}:{addr[1]}")
        writer.write(data)

    def reply(
        self,
        req: SipMessage,
        addr: Addr,
        status: int,
        reason: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra: list[tuple[str, str]] | None = None,
        to_tag: str | None = None,
    ) -> None:
        resp = response(req, status, reason, to_tag=to_tag, body=body, content_type=content_type, extra=extra)
        with contextlib.suppress(SipError):
            self._replies[(req.branch, req.cseq[1], req.cseq[0])] = resp.to_bytes()
            while len(self._replies) > REPLAY_CACHE:
                self._replies.popitem(last=False)
        with contextlib.suppress(ConnectionError):
            self.send(resp, addr)

    async def request(self, msg: SipMessage, addr: Addr, within: float) -> SipMessage:
        """Send `msg` and wait for its final response (1xx are skipped)."""
        key = msg.branch
        fut: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            self.send(msg, addr)
            async with asyncio.timeout(within):
                if self.transport == "tcp":
                    return await fut
                interval = T1
                while True:
                    try:
                        return await asyncio.wait_for(asyncio.shield(fut), interval)
                    except TimeoutError:
                        self.send(msg, addr)
                        interval = min(interval * 2, T2)
        except TimeoutError:
            raise SipTimeout(f"{msg.method} to {addr[0]}:{addr[1]}: no answer in {within:.1f} s") from None
        finally:
            self._pending.pop(key, None)

    # ---- receiving ---------------------------------------------------------------------------
    def received(self, data: bytes, addr: Addr) -> None:
        if not data.strip():
            return  # CRLF keep-alive
        try:
            msg = parse(data)
        except SipError as exc:
            bad_input(log, self.source, exc.reason, f"from {addr[0]}:{addr[1]}")
            return
        if not msg.is_request:
            fut = self._pending.get(msg.branch)
            if fut is not None and not fut.done() and msg.status >= 200:
                fut.set_result(msg)
            return
        cached = self._replies.get((msg.branch, msg.cseq[1], msg.cseq[0]))
        if cached is not None:
            with contextlib.suppress(ConnectionError):
                if self._udp is not None:
                    self._udp.sendto(cached, addr)
                elif addr in self._writers:
                    self._writers[addr].write(cached)
            return
        self._spawn(self._handle(msg, addr))

    async def _handle(self, msg: SipMessage, addr: Addr) -> None:
        try:
            await self.handler(msg, addr)
        except Exception:  # one bad request must not end the endpoint
            log.exception("gb28181: handling %s from %s failed", msg.method, addr)
            self.reply(msg, addr, 500, "Server Internal Error")

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr = (str(peer[0]), int(peer[1]))
        if len(self._writers) >= MAX_CONNECTIONS:
            bad_input(log, self.source, "too_many_connections", f"from {addr[0]}")
            writer.close()
            return
        self._writers[addr] = writer
        await self._read(reader, writer, addr)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Addr) -> None:
        framer = StreamFramer()
        try:
            while data := await reader.read(65536):
                try:
                    frames = framer.feed(data)
                except SipError as exc:
                    bad_input(log, self.source, exc.reason, f"tcp from {addr[0]}:{addr[1]}")
                    return
                for frame in frames:
                    self.received(frame, addr)
        except (ConnectionError, OSError):
            pass
        finally:
            if self._writers.get(addr) is writer:
                del self._writers[addr]
            writer.close()
            for fut in self._pending.values():
                if not fut.done() and self.transport == "tcp" and self._server is None:
                    fut.set_exception(SipTimeout("connection closed"))
            if self._server is None:
                self.closed.set()  # a client's only connection is gone


def _route_to(remote: Addr) -> str:
    """The local address the kernel would use toward `remote` (what goes into Via and Contact)."""
    with socket.socket(socket.AF_INET6 if ":" in remote[0] else socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(remote)
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"
