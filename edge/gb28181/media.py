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
import json
import logging
import socket
import sys
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client import Counter, Gauge

from edge.config import read_secret
from edge.gb28181.channels import Channel
from edge.gb28181.sdp import Offer

log = logging.getLogger(__name__)

STREAMS = Gauge("edge_gb28181_streams", "Live streams to the GB/T 28181 platform now")
CALLS = Counter("edge_gb28181_invites_total", "Live-view INVITEs by outcome", ["result"])
CODECS = Counter("edge_gb28181_stream_codecs_total", "Live streams by the camera's video codec", ["codec"])
ACCEPT_S = 10.0  # how long a listening relay waits for the platform's TCP connection (a=setup:active)


@dataclass
class Call:
    call_id: str
    channel: Channel
    offer: Offer
    proc: asyncio.subprocess.Process
    listen_port: int | None = None  # the TCP port this side listens on when the platform connects
    codec: str | None = None  # h264 / h265, as the relay found it in the camera's stream
    reader: asyncio.Task[None] | None = None


def listens(offer: Offer) -> bool:
    """The platform connects (`a=setup:active`): this side listens."""
    return offer.transport == "tcp" and offer.setup == "active"


def split_credentials(uri: str) -> tuple[str, str, str]:
    """(the URI without userinfo, username, password): some cameras' GetStreamUri embeds them."""
    parts = urlsplit(uri)
    if parts.username is None:
        return uri, "", ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)), unquote(parts.username), unquote(parts.password or "")


class MediaCalls:
    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self.calls: dict[str, Call] = {}

    @property
    def full(self) -> bool:
        return len(self.calls) >= self.max_streams

    async def start(
        self,
        call_id: str,
        channel: Channel,
        offer: Offer,
        local_ip: str = "0.0.0.0",  # noqa: S104
        stream_uri: str | None = None,
    ) -> Call:
        """`stream_uri` overrides the channel's (the one ONVIF reported). Raises SecretError when the
        camera's password file cannot be read."""
        uri = stream_uri or channel.stream_uri
        assert uri is not None
        uri, username, password = split_credentials(uri)  # a URI that carries them keeps them off argv
        if channel.password_file is not None or not username:  # the configured secret wins
            username, password = channel.username or "", read_secret(channel.password_file) or ""
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
                sys.executable, "-m", "edge.gb28181.media_relay", "--rtsp", uri,
                "--dest", f"{offer.address}:{offer.port}", "--ssrc", offer.ssrc, "--payload", str(offer.payload),
                "--credentials-stdin", *mode,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                pass_fds=() if listener is None else (listener.fileno(),),
            )  # fmt: skip
            port = None if listener is None else int(listener.getsockname()[1])
        finally:
            if listener is not None:
                listener.close()  # the child holds its own copy
        # The password goes down a pipe, never onto a command line (/proc/PID/cmdline is world-readable).
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"username": username, "password": password}).encode() + b"\n")
        proc.stdin.close()
        call = Call(call_id, channel, offer, proc, port)
        call.reader = asyncio.create_task(self._codec(call))
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

    @staticmethod
    async def _codec(call: Call) -> None:
        """The relay's report of the codec it found in the camera's stream (its only stdout line)."""
        assert call.proc.stdout is not None
        while line := await call.proc.stdout.readline():
            word = line.decode(errors="replace").split()
            if len(word) == 2 and word[0] == "codec" and word[1] in ("h264", "h265") and call.codec is None:
                call.codec = word[1]
                CODECS.labels(call.codec).inc()
                log.info("gb28181: live view of %s carries the camera's %s", call.channel.gb_id, call.codec.upper())

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
        if call.reader is not None:
            call.reader.cancel()
        log.info("gb28181: live view of %s ended", call.channel.gb_id)
        return True

    async def stop_all(self) -> None:
        for call_id in list(self.calls):
            await self.stop(call_id)
