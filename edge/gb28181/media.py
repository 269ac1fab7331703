"""Live-view calls: an INVITE for a camera channel starts a media relay child process
(edge.gb28181.media_relay); its BYE, the relay dying, or the unit stopping ends it.

At most `max_streams` calls at once; the next INVITE gets 486 Busy Here. RTP over UDP, or over TCP
when the platform listens (`a=setup:passive`, this side connects); `a=setup:active` gets 488.
The child is a separate process, so video never runs in the alarm core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from edge.gb28181.channels import Channel
from edge.gb28181.sdp import Offer

log = logging.getLogger(__name__)

STREAMS = Gauge("edge_gb28181_streams", "Live streams to the GB/T 28181 platform now")
CALLS = Counter("edge_gb28181_invites_total", "Live-view INVITEs by outcome", ["result"])


@dataclass
class Call:
    call_id: str
    channel: Channel
    offer: Offer
    proc: asyncio.subprocess.Process


class MediaCalls:
    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self.calls: dict[str, Call] = {}

    @property
    def full(self) -> bool:
        return len(self.calls) >= self.max_streams

    async def start(self, call_id: str, channel: Channel, offer: Offer) -> Call:
        assert channel.stream_uri is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge.gb28181.media_relay", "--rtsp", channel.stream_uri,
            "--dest", f"{offer.address}:{offer.port}", "--ssrc", offer.ssrc, "--payload", str(offer.payload),
            *(["--tcp"] if offer.transport == "tcp" else []),
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        call = Call(call_id, channel, offer, proc)
        self.calls[call_id] = call
        STREAMS.set(len(self.calls))
        CALLS.labels("started").inc()
        log.info("gb28181: live view of %s to %s:%d (SSRC %s)", channel.gb_id, offer.address, offer.port, offer.ssrc)
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
