"""The live-view media relay, a child process of the daemon (never in the alarm core):
RTSP camera -> GStreamer (`gst-launch-1.0`: depayload, parse, `mpegpsmux`; no re-encoding) -> MPEG-PS
on stdout -> RTP packets (90 kHz clock, the SDP's SSRC and payload type) over UDP to the platform.

    python -m edge.gb28181.media_relay --rtsp URL --dest HOST:PORT --ssrc 0100000001 [--codec h264|h265]
        [--tcp | --listen-fd FD --accept-timeout S]

Over TCP it connects to --dest (the platform listens, `a=setup:passive`), or with --listen-fd it
accepts the platform's connection on the socket its parent bound (`a=setup:active`), within
--accept-timeout seconds or exits 3; GStreamer starts once the peer is there, so the stream begins
with a PS pack header and an IDR frame. It exits when GStreamer ends (the camera went away), the
peer closes the connection, or on SIGTERM (BYE): its parent ends the call.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

MAX_PAYLOAD = 1400  # RTP payload per datagram: below a 1500-byte MTU with IP/UDP/RTP headers
CHUNK = 65536


def pipeline(rtsp: str, codec: str) -> list[str]:
    depay, parse = ("rtph265depay", "h265parse") if codec == "h265" else ("rtph264depay", "h264parse")
    gst = shutil.which("gst-launch-1.0") or "/usr/bin/gst-launch-1.0"
    return [
        gst, "-q", "rtspsrc", f"location={rtsp}", "latency=0", "protocols=tcp", "!",
        depay, "!", parse, "config-interval=-1", "!", "mpegpsmux", "!", "fdsink", "fd=1", "sync=false",
    ]  # fmt: skip


class RtpSender:
    """RTP over UDP, or over TCP with RFC 4571 framing (a 2-byte length before each packet) when the
    platform listens (`a=setup:passive`): then this side connects."""

    def __init__(
        self,
        dest: tuple[str, int],
        ssrc: int,
        payload_type: int,
        tcp: bool = False,
        connected: socket.socket | None = None,
    ) -> None:
        family = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
        self.tcp = tcp or connected is not None
        if connected is not None:  # the platform connected to us (a=setup:active)
            self.sock = connected
            self.sock.settimeout(5.0)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            self.sock = socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        if tcp and connected is None:
            self.sock.settimeout(5.0)
            self.sock.connect(dest)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.dest = dest
        self.ssrc = ssrc & 0xFFFFFFFF
        self.pt = payload_type & 0x7F
        self.seq = random.randrange(0, 65536)  # noqa: S311 - RFC 3550 random start, not cryptography
        self.start = time.monotonic()

    def send(self, data: bytes) -> None:
        ts = int((time.monotonic() - self.start) * 90_000) & 0xFFFFFFFF
        for i in range(0, len(data), MAX_PAYLOAD):
            part = data[i : i + MAX_PAYLOAD]
            marker = 0x80 if i + MAX_PAYLOAD >= len(data) else 0
            header = struct.pack("!BBHII", 0x80, marker | self.pt, self.seq, ts, self.ssrc)
            self.seq = (self.seq + 1) & 0xFFFF
            packet = header + part
            if self.tcp:
                self.sock.sendall(struct.pack("!H", len(packet)) + packet)  # a closed connection ends the relay
                continue
            with contextlib.suppress(OSError):  # the platform's port is not open (yet): RTP is best effort
                self.sock.sendto(packet, self.dest)


def accept(fd: int, timeout: float) -> socket.socket | None:
    """The platform's connection on the inherited listening socket, or None after `timeout`."""
    listener = socket.socket(fileno=fd)
    listener.settimeout(timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a BYE before the platform connected
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return None
    finally:
        listener.close()  # one connection per call (a=connection:new)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return conn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rtsp", required=True)
    ap.add_argument("--dest", required=True, help="HOST:PORT from the SDP")
    ap.add_argument("--ssrc", required=True)
    ap.add_argument("--payload", type=int, default=96)
    ap.add_argument("--codec", choices=["h264", "h265"], default="h264")
    ap.add_argument("--tcp", action="store_true", help="RTP over TCP, connecting to --dest (platform passive)")
    ap.add_argument("--listen-fd", type=int, help="RTP over TCP, accepting on this listening socket (platform active)")
    ap.add_argument("--accept-timeout", type=float, default=10.0, help="seconds to wait for the platform to connect")
    args = ap.parse_args(argv)
    host, _, port = args.dest.rpartition(":")
    connected = None
    if args.listen_fd is not None:
        connected = accept(args.listen_fd, args.accept_timeout)
        if connected is None:
            print(f"media_relay: the platform did not connect within {args.accept_timeout:.0f} s", file=sys.stderr)
            return 3
    sender = RtpSender((host.strip("[]"), int(port)), int(args.ssrc), args.payload, args.tcp, connected)
    gst = subprocess.Popen(pipeline(args.rtsp, args.codec), stdout=subprocess.PIPE)  # noqa: S603 - fixed argv
    signal.signal(signal.SIGTERM, lambda *_: gst.terminate())
    assert gst.stdout is not None
    fd = gst.stdout.fileno()
    try:
        while chunk := os.read(fd, CHUNK):
            sender.send(chunk)
    except OSError:  # the platform closed the TCP connection
        gst.terminate()
    return gst.wait() or 0


if __name__ == "__main__":
    sys.exit(main())
