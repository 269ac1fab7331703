"""The SDP of a GB/T 28181 live-view INVITE: where the PS-over-RTP stream goes, and its SSRC (`y=`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_SDP = 4096


class SdpError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Offer:
    address: str
    port: int
    transport: str  # "udp", or "tcp" (RTP/AVP/TCP)
    setup: str | None  # a=setup for TCP: active / passive
    ssrc: str  # ten digits, from y=
    payload: int
    session: str  # s=: Play, Playback, Download


def parse_offer(body: bytes) -> Offer:
    if len(body) > MAX_SDP:
        raise SdpError("SDP too large")
    try:
        lines = body.decode("ascii").replace("\r\n", "\n").split("\n")
    except UnicodeDecodeError:
        raise SdpError("SDP is not ASCII") from None
    address = port = media = ssrc = setup = session = None
    payload = 96
    for line in lines:
        key, _, value = line.strip().partition("=")
        if key == "c":
            parts = value.split()
            address = parts[2] if len(parts) == 3 else None
        elif key == "m" and value.startswith("video"):
            parts = value.split()
            if len(parts) < 4 or not parts[1].isdigit():
                raise SdpError(f"bad m= line {value[:60]!r}")
            port, media = int(parts[1]), parts[2]
            payload = int(parts[3]) if parts[3].isdigit() else 96
        elif key == "y":
            ssrc = value.strip()
        elif key == "a" and value.startswith("setup:"):
            setup = value.split(":", 1)[1].strip()
        elif key == "s":
            session = value.strip()
    if address is None or port is None or media is None:
        raise SdpError("no c= address or m=video line")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise SdpError(f"c= address {address[:40]!r} is not an IP address") from None
    if not 0 < port < 65_536:
        raise SdpError(f"bad port {port}")
    if ssrc is None or not ssrc.isdigit() or len(ssrc) != 10:
        raise SdpError("y= SSRC must be ten digits")
    transport = "tcp" if "TCP" in media.upper() else "udp"
    return Offer(address, port, transport, setup, ssrc, payload, session or "Play")


def answer(
    device_id: str, local_ip: str, local_port: int, ssrc: str, payload: int, *, tcp: bool = False, listen: bool = False
) -> bytes:
    """The 200 OK's SDP; over TCP this side is `active` (connects), or `passive` with `listen`: then
    `local_port` is the port the platform connects to."""
    media = "TCP/RTP/AVP" if tcp else "RTP/AVP"
    lines = [
        "v=0",
        f"o={device_id} 0 0 IN IP4 {local_ip}",
        "s=Play",
        f"c=IN IP4 {local_ip}",
        "t=0 0",
        f"m=video {local_port} {media} {payload}",
        "a=sendonly",
        *([f"a=setup:{'passive' if listen else 'active'}", "a=connection:new"] if tcp else []),
        f"a=rtpmap:{payload} PS/90000",
        f"y={ssrc}",
        "f=",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
