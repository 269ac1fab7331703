"""A real DC-09 receiver for tests and benchmarks: pysiaalarm's server on a loopback port.

In-process: ``SiaReceiver(account, key=...)`` with ``await start()`` / ``await stop()`` (stop also
cuts open connections, like a receiver going down) and ``events``, every acknowledged event with
account, zone, code, Contact ID, sequence. As a subprocess: ``python tests/peers/sia_receiver.py
--port P --account A [--key K]`` prints one JSON line per event (and "READY port" first).

pysiaalarm keys are ASCII strings used as raw AES key bytes; our key files hold hex, so the same
key is ``key.encode().hex()`` on our side (`hex_key`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pysiaalarm.account import SIAAccount
from pysiaalarm.aio.server import SIAServerTCP, SIAServerUDP
from pysiaalarm.event import SIAEvent
from pysiaalarm.utils.counter import Counter


class _UdpServer(SIAServerUDP):
    """pysiaalarm 3.2.2 asserts the transport is an asyncio.DatagramTransport, which the selector
    loop's transport is not on this Python; accept any transport that can sendto."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hex_key(ascii_key: str) -> str:
    """What our key file must hold for pysiaalarm's ASCII key."""
    return ascii_key.encode().hex()


@dataclass
class Received:
    account: str | None
    zone: int | None
    code: str | None  # SIA code (pysiaalarm maps ADM-CID to one)
    cid: str | None  # Contact ID qualifier+event, ADM-CID only
    sequence: int
    message_type: str
    receiver: str | None
    line: str | None
    encrypted: bool
    xdata: str | None
    received_at: float = field(default_factory=time.time)


class SiaReceiver:
    def __init__(
        self,
        account: str,
        key: str | None = None,
        *,
        port: int | None = None,
        udp: bool = False,
        timeband: tuple[int, int] = (40, 20),
    ) -> None:
        self.account, self.key, self.udp = account, key, udp
        self.port = port or free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.timeband = timeband
        self.events: list[Received] = []
        self.counts = Counter()
        self.on_event: Callable[[Received], None] | None = None
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._writers: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    @property
    def url(self) -> str:
        return f"dc09{'+udp' if self.udp else ''}://127.0.0.1:{self.port}"

    async def _record(self, ev: SIAEvent) -> None:
        zone = ev.ri
        rec = Received(
            account=ev.account,
            zone=int(zone) if zone and zone.isdigit() else None,
            code=ev.code,
            cid=(ev.event_qualifier + ev.event_type) if ev.event_qualifier and ev.event_type else None,
            sequence=int(ev.sequence or 0),
            message_type=str(getattr(ev.message_type, "value", ev.message_type)),
            receiver=ev.receiver,
            line=ev.line,
            encrypted=bool(ev.encrypted),
            xdata=ev.x_data,
        )
        self.events.append(rec)
        if self.on_event:
            self.on_event(rec)

    async def start(self) -> None:
        accounts = {self.account.upper(): SIAAccount(self.account, self.key, allowed_timeband=self.timeband)}
        if self.udp:
            proto = _UdpServer(accounts, self._record, self.counts)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(lambda: proto, local_addr=("127.0.0.1", self.port))
            self._udp = transport
            return
        sia = SIAServerTCP(accounts, self._record, self.counts)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._writers[writer] = task
            try:
                await sia.handle_line(reader, writer)
            except (ConnectionError, OSError):
                pass
            finally:
                self._writers.pop(writer, None)

        self._server = await asyncio.start_server(handle, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        """Stop listening and drop every open connection: the receiver is down."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._server is not None:
            self._server.close()
            tasks = list(self._writers.values())
            for w in list(self._writers):
                w.transport.abort()
            if tasks:
                await asyncio.wait(tasks, timeout=2)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
            self._server = None

    def messages(self) -> list[Received]:
        """Events other than supervision NULLs."""
        return [e for e in self.events if e.message_type != "NULL"]

    def nulls(self) -> list[Received]:
        return [e for e in self.events if e.message_type == "NULL"]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver condition not met within {timeout} s ({len(self.events)} events)")
            await asyncio.sleep(0.01)


async def _main(args: argparse.Namespace) -> None:
    rx = SiaReceiver(args.account, args.key, port=args.port, udp=args.udp)

    def out(rec: Received) -> None:
        sys.stdout.write(json.dumps(asdict(rec)) + "\n")
        sys.stdout.flush()

    rx.on_event = out
    await rx.start()
    sys.stdout.write(f"READY {rx.port}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--account", required=True)
    p.add_argument("--key", default=None, help="pysiaalarm ASCII key (16/24/32 characters)")
    p.add_argument("--udp", action="store_true")
    args: Any = p.parse_args(argv)
    args.port = args.port or None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
