"""Live-view calls: an INVITE for a camera channel starts a media relay child process
(edge.gb28181.media_relay); its BYE, the relay dying, or the unit stopping ends it.

At most `max_streams` calls at once; the next INVITE gets 486 Busy Here. RTP over UDP, or over TCP
(RFC 4571 framing) either way round (RFC 4145): the platform listens (`a=setup:passive`), this
side connects; or the platform connects (`a=setup:active`), this side listens on a port bound here,
named in the SDP answer (`a=setup:passive`), and handed to the child, which waits ACCEPT_S for the
platform's connection and otherwise exits (the call then ends with a BYE).
The child is a separate process, so video never runs in the alarm core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from edge.gb28181.channels import Channel
from edge.gb28181.sdp import Offer

log = logging.getLogger(__name__)

STREAMS = Gauge("edge_gb28181_streams", "Live streams to the GB/T 28181 platform now")
CALLS = Counter("edge_gb28181_invites_total", "Live-view INVITEs by outcome", ["result"])
ACCEPT_S = 10.0  # how long a listening relay waits for the platform's TCP connection (a=setup:active)


@dataclass
class Call:
    call_id: str
    channel: Channel
    offer: Offer
    proc: asyncio.subprocess.Process
    listen_port: int | None = None  # the TCP port this side listens on when the platform connects


def listens(offer: Offer) -> bool:
    """The platform connects (`a=setup:active`): this side listens."""
    return offer.transport == "tcp" and offer.setup == "active"


class MediaCalls:
    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self.calls: dict[str, Call] = {}

    @property
    def full(self) -> bool:
        return len(self.calls) >= self.max_streams

    async def start(self, call_id: str, channel: Channel, offer: Offer, local_ip: str = "0.0.0.0") -> Call:  # noqa: S104
        assert channel.stream_uri is not None
        listener: socket.socket | None = None
        mode: list[str] = ["--tcp"] if offer.transport == "tcp" else []
        if listens(offer):
            family = socket.AF_INET6 if ":" in local_ip else socket.AF_INET
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.bind((local_ip, 0))
            listener.listen(1)
            mode = ["--listen-fd", str(listener.fileno()), "--accept-timeout", str(ACCEPT_S)]
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "edge.gb28181.media_relay", "--rtsp", channel.stream_uri,
                "--dest", f"{offer.address}:{offer.port}", "--ssrc", offer.ssrc, "--payload", str(offer.payload),
                *mode,
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=() if listener is None else (listener.fileno(),),
            )  # fmt: skip
            port = None if listener is None else int(listener.getsockname()[1])
        finally:
            if listener is not None:
                listener.close()  # the child holds its own copy
        call = Call(call_id, channel, offer, proc, port)
        self.calls[call_id] = call
        STREAMS.set(len(self.calls))
        CALLS.labels("started").inc()
        if port is not None:
            log.info("gb28181: live view of %s, RTP over TCP on port %d (SSRC %s)", channel.gb_id, port, offer.ssrc)
        else:
            log.info(
                "gb28181: live view of %s to %s:%d (SSRC %s)", channel.gb_id, offer.address, offer.port, offer.ssrc
            )
        return call

    async def stop(self, call_id: str) -> bool:
        call = self.calls.pop(call_id, None)
        STREAMS.set(len(self.calls))
        if call is None:
            return False
        if call.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                call.proc.terminate()
            try:
                async with asyncio.timeout(3):
                    await call.proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    call.proc.kill()
                await call.proc.wait()
        log.info("gb28181: live view of %s ended", call.channel.gb_id)
        return True

    async def stop_all(self) -> None:
        for call_id in list(self.calls):
            await self.stop(call_id)
