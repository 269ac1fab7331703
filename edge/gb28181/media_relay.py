"""The live-view media relay, a child process of the daemon (never in the alarm core):
RTSP camera -> GStreamer (edge.gb28181.gst_source: the camera's own access units in MPEG-TS, no
re-encoding) -> edge.gb28181.ps (TS back into frames, then MPEG-PS as GB/T 28181 wants it) -> RTP
packets (90 kHz clock from the frames' PTS, marker on a frame's last packet, the SDP's SSRC and
payload type) over UDP or TCP to the platform. H.264 and H.265 alike: the codec is what the camera's
stream carries, printed once on stdout as `codec h264|h265` for the parent to report.

    python -m edge.gb28181.media_relay --rtsp URL --dest HOST:PORT --ssrc 0100000001
        [--credentials-stdin] [--tcp | --listen-fd FD --accept-timeout S]

With --credentials-stdin the first stdin line is JSON {"username", "password"} for the camera's
RTSP: the password never appears on a command line or in a log.
Over TCP it connects to --dest (the platform listens, `a=setup:passive`), or with --listen-fd it
accepts the platform's connection on the socket its parent bound (`a=setup:active`), within
--accept-timeout seconds or exits 3; GStreamer starts once the peer is there. Frames before the
first key frame are dropped, so the stream begins with a pack header, the PSM and an IDR/IRAP frame.
It exits when GStreamer ends (the camera went away), the peer closes the connection, or on SIGTERM
(BYE): its parent ends the call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from edge.gb28181.ps import CODECS, Frame, PsMux, TsDemux
from edge.video import gst

SOURCE = Path(__file__).with_name("gst_source.py")
MAX_PAYLOAD = 1400  # RTP payload per datagram: below a 1500-byte MTU with IP/UDP/RTP headers
CHUNK = 65536
IDLE_S = 0.005  # GStreamer writes a frame's TS packets back to back: a pause this long ends the frame


def source(rtsp: str, username: str, password: str) -> subprocess.Popen[bytes]:
    """The GStreamer child, its credentials written to its stdin (never its argv)."""
    return gst.spawn(SOURCE, {"location": rtsp, "username": username, "password": password})


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

    def send(self, data: bytes, pts: int | None = None) -> None:
        """One frame's PS: its packets share the RTP timestamp (the frame's PTS), the last one is marked."""
        ts = (int((time.monotonic() - self.start) * 90_000) if pts is None else pts) & 0xFFFFFFFF
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


class Relay:
    """TS from GStreamer in, PS over RTP out, from the first key frame on."""

    def __init__(self, sender: RtpSender) -> None:
        self.sender = sender
        self.demux = TsDemux()
        self.mux = PsMux()
        self.codec: str | None = None
        self.keyed = False
        self.pts: int | None = None

    def frames(self, frames: list[Frame]) -> None:
        if self.codec is None and self.demux.stream_type is not None:
            self.codec = CODECS[self.demux.stream_type]
            print(f"codec {self.codec}", flush=True)
        for frame in frames:
            self.keyed = self.keyed or frame.key
            if not self.keyed:
                continue
            data = self.mux.mux(frame)
            self.pts = self.mux.pts(frame) if frame.pts is not None else self.pts
            self.sender.send(data, self.pts)

    def pump(self, fd: int) -> None:
        """Until GStreamer's stdout ends."""
        while True:
            ready, _, _ = select.select([fd], [], [], IDLE_S)
            if not ready:
                self.frames(self.demux.flush())
                continue
            chunk = os.read(fd, CHUNK)
            if not chunk:
                self.frames(self.demux.flush())
                return
            self.frames(self.demux.feed(chunk))


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
    ap.add_argument("--credentials-stdin", action="store_true", help="first stdin line: JSON username, password")
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
    username = password = ""
    if args.credentials_stdin:
        try:
            cred = json.loads(sys.stdin.readline() or "{}")
            username, password = str(cred.get("username") or ""), str(cred.get("password") or "")
        except (ValueError, AttributeError):
            print("media_relay: the credentials line is not a JSON object", file=sys.stderr)
            return 2
    sender = RtpSender((host.strip("[]"), int(port)), int(args.ssrc), args.payload, args.tcp, connected)
    gst = source(args.rtsp, username, password)
    signal.signal(signal.SIGTERM, lambda *_: gst.terminate())
    assert gst.stdout is not None
    try:
        Relay(sender).pump(gst.stdout.fileno())
    except OSError:  # the platform closed the TCP connection
        gst.terminate()
    return gst.wait() or 0


if __name__ == "__main__":
    sys.exit(main())
