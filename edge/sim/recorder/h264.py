"""Pure H.264 helpers for the simulated recorder: Annex-B access units in, RTP packets out.

Annex-B splitting (ITU-T H.264 annex B), RTP payload format RFC 6184 (single NAL unit and FU-A) and
the ONVIF replay header extension (ONVIF Streaming Specification 6.3: profile 0xABAC, an NTP
timestamp and the C/E/D flags). No I/O here, so every function is testable on bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

START: Final = b"\x00\x00\x01"
NAL_IDR: Final = 5
NAL_SEI: Final = 6
NAL_SPS: Final = 7
NAL_PPS: Final = 8
NAL_AUD: Final = 9
# Begin a new access unit when they appear (H.264 7.4.1.2.3): AUD, SEI, SPS, PPS.
_AU_OPENERS: Final = frozenset({NAL_AUD, NAL_SEI, NAL_SPS, NAL_PPS})
# RTP over RTSP/TCP carries at most 65535 bytes per frame; 1400 keeps packets MTU-sized for UDP peers too.
MAX_PAYLOAD: Final = 1400
ONVIF_EXT_PROFILE: Final = 0xABAC
NTP_EPOCH_OFFSET: Final = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
RTP_CLOCK: Final = 90_000  # H.264 over RTP: 90 kHz timestamps (RFC 6184)


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte string, start codes and trailing zero bytes removed."""
    out: list[bytes] = []
    i = data.find(START)
    while i >= 0:
        begin = i + 3
        nxt = data.find(START, begin)
        end = len(data) if nxt < 0 else nxt
        nal = data[begin:end].rstrip(b"\x00")
        if nal:
            out.append(nal)
        i = nxt
    return out


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def _first_slice(nal: bytes) -> bool:
    """A VCL NAL whose first_mb_in_slice is 0 (ue(v) '1'): the first slice of a new picture."""
    return nal_type(nal) in (1, NAL_IDR) and len(nal) > 1 and bool(nal[1] & 0x80)


@dataclass(frozen=True, slots=True)
class AccessUnit:
    """One picture: its NAL units, the wall-clock time it was captured and whether it is a key frame."""

    ts: float
    nals: tuple[bytes, ...]

    @property
    def key(self) -> bool:
        return any(nal_type(n) == NAL_IDR for n in self.nals)

    @property
    def size(self) -> int:
        return sum(len(n) for n in self.nals)


class AccessUnitSplitter:
    """Feeds Annex-B bytes in any chunking; yields complete NAL-unit groups, one per picture."""

    def __init__(self, max_buffer: int = 4 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self._nals: list[bytes] = []
        self._has_vcl = False
        self._max = max_buffer

    def feed(self, chunk: bytes) -> Iterator[tuple[bytes, ...]]:
        self._buf += chunk
        if len(self._buf) > self._max:  # no start code in 4 MiB: not H.264; drop it rather than grow
            self._buf.clear()
        # Everything before the last start code is complete; the tail may still grow.
        last = self._buf.rfind(START)
        if last <= 0:
            return
        complete, self._buf = bytes(self._buf[:last]), self._buf[last:]
        for nal in nal_units(complete):
            yield from self._push(nal)

    def _push(self, nal: bytes) -> Iterator[tuple[bytes, ...]]:
        t = nal_type(nal)
        if self._has_vcl and (t in _AU_OPENERS or _first_slice(nal)):
            yield tuple(self._nals)
            self._nals, self._has_vcl = [], False
        self._nals.append(nal)
        self._has_vcl = self._has_vcl or t in (1, NAL_IDR)


def ntp(ts: float) -> int:
    """64-bit NTP timestamp of a Unix time."""
    secs = int(ts)
    frac = int((ts - secs) * (1 << 32)) & 0xFFFFFFFF
    return ((secs + NTP_EPOCH_OFFSET) << 32) | frac


def onvif_extension(ts: float, clean_point: bool, discontinuity: bool, end: bool = False) -> bytes:
    """The ONVIF replay RTP header extension: profile, length 3 words, NTP time, C E D flags, CSeq 0."""
    flags = (0x80 if clean_point else 0) | (0x40 if end else 0) | (0x20 if discontinuity else 0)
    return struct.pack("!HHQBBH", ONVIF_EXT_PROFILE, 3, ntp(ts), flags, 0, 0)


def fragments(nal: bytes, limit: int = MAX_PAYLOAD) -> list[bytes]:
    """RTP payloads of one NAL unit: itself when it fits, else FU-A fragments (RFC 6184 5.8)."""
    if len(nal) <= limit:
        return [nal]
    indicator = (nal[0] & 0xE0) | 28
    kind = nal[0] & 0x1F
    body = nal[1:]
    step = limit - 2
    parts = [body[i : i + step] for i in range(0, len(body), step)]
    out = []
    for i, part in enumerate(parts):
        header = kind | (0x80 if i == 0 else 0) | (0x40 if i == len(parts) - 1 else 0)
        out.append(bytes((indicator, header)) + part)
    return out


@dataclass(slots=True)
class RtpPacketizer:
    """RTP packets of access units, with the ONVIF extension on each picture's first packet."""

    ssrc: int
    seq: int = 0
    payload_type: int = 96
    base_ts: float | None = None

    def rtp_time(self, ts: float) -> int:
        if self.base_ts is None:
            self.base_ts = ts
        return round((ts - self.base_ts) * RTP_CLOCK) & 0xFFFFFFFF

    def packets(self, au: AccessUnit, discontinuity: bool = False) -> list[bytes]:
        stamp = self.rtp_time(au.ts)
        payloads = [p for nal in au.nals for p in fragments(nal)]
        out = []
        for i, payload in enumerate(payloads):
            last = i == len(payloads) - 1
            ext = onvif_extension(au.ts, au.key, discontinuity) if i == 0 else b""
            first = 0x80 | (0x10 if ext else 0)
            second = (0x80 if last else 0) | self.payload_type
            head = struct.pack("!BBHII", first, second, self.seq, stamp, self.ssrc)
            out.append(head + ext + payload)
            self.seq = (self.seq + 1) & 0xFFFF
        return out


def rtcp_bye(ssrc: int, rtp_ts: int, packets: int, octets: int, now: float) -> bytes:
    """A compound RTCP packet: a sender report then BYE, what ends a replay (RFC 3550 6.6)."""
    n = ntp(now)
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, n >> 32, n & 0xFFFFFFFF, rtp_ts, packets, octets)
    bye = struct.pack("!BBHI", 0x81, 203, 1, ssrc)
    return sr + bye
