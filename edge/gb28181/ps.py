"""MPEG-TS in, MPEG-PS out (ISO/IEC 13818-1), for the live-view relay child: one muxer for H.264 and
H.265 alike.

Debian 12's `mpegpsmux` takes no H.265, `mpegtsmux` does; so GStreamer hands the relay the camera's
own access units in TS (no re-encoding), `TsDemux` takes the PES back out of it with their PTS/DTS
and the stream type from the PMT (which is also how the relay learns the camera's codec), and `PsMux`
writes them as GB/T 28181 expects (annex C): a pack header with SCR before every frame, the system
header and the program stream map before every key frame, stream type 0x1B H.264 / 0x24 H.265, PES
of at most 65535 bytes, a large frame split over several (only the first carries PTS/DTS).
Standard library only: this runs in the relay child, never in the alarm core.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

TS_PACKET: Final = 188
H264: Final = 0x1B
H265: Final = 0x24
CODECS: Final = {H264: "h264", H265: "h265"}
VIDEO_ID: Final = 0xE0  # PES stream_id of the one video stream
MAX_PES: Final = 0xFFFF  # PES_packet_length is 16 bits: a longer frame is split
MUX_RATE: Final = 25_000  # in 50 byte/s units (10 Mbit/s): informative only, receivers pace by SCR/PTS
MAX_PENDING: Final = 8 << 20  # a TS PES that never ends is cut here (bounded memory)


@dataclass(slots=True)
class Frame:
    """One access unit (or, with `start` False, the rest of one whose first part went out already)."""

    stream_type: int
    pts: int | None  # 90 kHz, 33 bits
    dts: int | None
    data: bytes
    start: bool = True

    @property
    def key(self) -> bool:
        return self.start and is_key(self.stream_type, self.data)


def nal_types(stream_type: int, data: bytes) -> list[int]:
    """The NAL unit types of an Annex B byte stream."""
    out = []
    i = data.find(b"\x00\x00\x01")
    while 0 <= i < len(data) - 3:
        b = data[i + 3]
        out.append((b >> 1) & 0x3F if stream_type == H265 else b & 0x1F)
        i = data.find(b"\x00\x00\x01", i + 3)
    return out


# NAL types that open a new access unit once the current one has a picture (H.264 7.4.1.2.3, H.265
# 7.4.2.4.4): access unit delimiter, parameter sets, SEI.
AU_START: Final = {H264: frozenset({6, 7, 8, 9, *range(14, 19)}), H265: frozenset({32, 33, 34, 35, 39, *range(41, 45)})}


def has_picture(stream_type: int, data: bytes) -> bool:
    """A VCL NAL unit (a coded slice) is in `data`: H.264 types 1..5, H.265 types 0..31."""
    return any(t < 32 if stream_type == H265 else 1 <= t <= 5 for t in nal_types(stream_type, data))


def is_key(stream_type: int, data: bytes) -> bool:
    """An access unit a decoder can start from: H.264 IDR (5), H.265 IRAP (16..23)."""
    types = nal_types(stream_type, data)
    if stream_type == H265:
        return any(16 <= t <= 23 for t in types)
    return 5 in types


@dataclass
class TsDemux:
    """The video PES of a TS byte stream, as frames. `feed` takes any slicing of the bytes."""

    stream_type: int | None = None  # from the PMT: the camera's codec
    bad: int = 0  # TS packets dropped as malformed (lost sync, bad PES header)
    _buf: bytes = b""
    _pmt_pids: set[int] = field(default_factory=set)
    _video_pid: int | None = None
    _pending: bytearray = field(default_factory=bytearray)
    _pts: int | None = None
    _dts: int | None = None
    _open: bool = False  # a PES is being collected
    _started: bool = False  # its first part went out already (flushed when the pipe went idle)
    _picture: bool = False  # what went out of the current access unit already held a coded slice

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buf + data
        out: list[Frame] = []
        i = 0
        while len(buf) - i >= TS_PACKET:
            if buf[i] != 0x47:
                j = buf.find(b"\x47", i + 1)
                self.bad += 1
                i = len(buf) if j < 0 else j
                continue
            out += self._packet(buf[i : i + TS_PACKET])
            i += TS_PACKET
        self._buf = buf[i:]
        return out

    def flush(self) -> list[Frame]:
        """What is collected of the current PES: the source went quiet, so the frame is complete."""
        if not self._open or not self._pending or self.stream_type is None:
            return []
        frame = Frame(self.stream_type, self._pts, self._dts, bytes(self._pending), start=not self._started)
        self._picture = self._picture or has_picture(self.stream_type, frame.data)
        self._pending.clear()
        self._started = True
        return [frame]

    def _packet(self, pkt: bytes) -> list[Frame]:
        pusi = bool(pkt[1] & 0x40)
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        afc = (pkt[3] >> 4) & 0x3
        pos = 4
        if afc & 0x2:
            pos += 1 + pkt[4]
        if not afc & 0x1 or pos >= TS_PACKET:
            return []
        payload = pkt[pos:]
        if pid == 0 and pusi:
            self._pat(payload)
        elif pid in self._pmt_pids and pusi:
            self._pmt(payload)
        elif pid == self._video_pid:
            return self._pes(payload, pusi)
        return []

    @staticmethod
    def _section(payload: bytes) -> bytes | None:
        start = 1 + payload[0]  # pointer_field
        sec = payload[start:]
        if len(sec) < 8:
            return None
        length = ((sec[1] & 0x0F) << 8) | sec[2]
        return sec[: 3 + length - 4] if 3 + length <= len(sec) else None  # without the CRC

    def _pat(self, payload: bytes) -> None:
        sec = self._section(payload)
        if sec is None or sec[0] != 0x00:
            return
        for k in range(8, len(sec) - 3, 4):
            program = (sec[k] << 8) | sec[k + 1]
            if program:
                self._pmt_pids.add(((sec[k + 2] & 0x1F) << 8) | sec[k + 3])

    def _pmt(self, payload: bytes) -> None:
        sec = self._section(payload)
        if sec is None or len(sec) < 12 or sec[0] != 0x02:
            return
        k = 12 + (((sec[10] & 0x0F) << 8) | sec[11])
        while k + 5 <= len(sec):
            stype, pid = sec[k], ((sec[k + 1] & 0x1F) << 8) | sec[k + 2]
            if stype in CODECS and self._video_pid is None:
                self._video_pid, self.stream_type = pid, stype
            k += 5 + (((sec[k + 3] & 0x0F) << 8) | sec[k + 4])

    def _pes(self, payload: bytes, pusi: bool) -> list[Frame]:
        out: list[Frame] = []
        if pusi:
            flags = payload[7] >> 6 if len(payload) >= 9 else 0
            need = {0x2: 5, 0x3: 10}.get(flags, 0)  # PTS, PTS and DTS
            if len(payload) < 9 or payload[:3] != b"\x00\x00\x01" or not need <= payload[8] <= len(payload) - 9:
                self.bad += 1
                out, self._open = self.flush(), False
                return out
            pts = _timestamp(payload[9:14]) if flags & 0x2 else None
            dts = _timestamp(payload[14:19]) if flags == 0x3 else pts
            payload = payload[9 + payload[8] :]
            # A parser that hands out single NAL units gives a PES per NAL. Once the access unit has
            # its picture, a new PTS or a parameter set / delimiter / SEI starts the next one; before
            # that (parameter sets stamped with the previous frame's time) the picture's PTS is the AU's.
            st = self.stream_type if self.stream_type is not None else H264
            picture = self._picture or has_picture(st, bytes(self._pending))
            first = nal_types(st, payload[:8])
            opens = bool(first) and first[0] in AU_START[st]
            if not self._open or (picture and ((pts is not None and pts != self._pts) or opens)):
                out = self.flush()
                self._pts, self._dts = pts, dts
                self._open, self._started, self._picture = True, False, False
            elif pts is not None and not picture:
                self._pts, self._dts = pts, dts
        if not self._open:
            return out
        self._pending += payload
        if len(self._pending) >= MAX_PENDING:
            out += self.flush()
        return out


def _timestamp(b: bytes) -> int:
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def _ts_bytes(prefix: int, v: int) -> bytes:
    v &= (1 << 33) - 1
    return bytes(
        [
            (prefix << 4) | ((v >> 29) & 0x0E) | 1,
            (v >> 22) & 0xFF,
            ((v >> 14) & 0xFE) | 1,
            (v >> 7) & 0xFF,
            ((v << 1) & 0xFE) | 1,
        ]
    )


def crc32_mpeg(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def pack_header(scr: int) -> bytes:
    """The 14-byte MPEG-2 pack header (no stuffing), SCR in 90 kHz (extension 0)."""
    scr &= (1 << 33) - 1
    b = bytes(
        [
            0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 0x03),
            (scr >> 20) & 0xFF,
            ((scr >> 12) & 0xF8) | 0x04 | ((scr >> 13) & 0x03),
            (scr >> 5) & 0xFF,
            ((scr << 3) & 0xF8) | 0x04,
            0x01,
        ]
    )
    rate = bytes([(MUX_RATE >> 14) & 0xFF, (MUX_RATE >> 6) & 0xFF, ((MUX_RATE << 2) & 0xFC) | 0x03])
    return b"\x00\x00\x01\xba" + b + rate + b"\xf8"


def system_header() -> bytes:
    body = bytes(
        [
            0x80 | ((MUX_RATE >> 15) & 0x7F),
            (MUX_RATE >> 7) & 0xFF,
            ((MUX_RATE << 1) & 0xFE) | 0x01,
            0x04,  # audio_bound 0, fixed 0, CSPS 0
            0xE1,  # audio lock 1, video lock 1, marker, video_bound 1
            0x7F,  # packet_rate_restriction 0, reserved
            VIDEO_ID,
            0xE0 | (1024 >> 8),  # '11', P-STD scale 1 (x1024 bytes), size bound 1024: 1 MB
            1024 & 0xFF,
        ]
    )
    return b"\x00\x00\x01\xbb" + struct.pack("!H", len(body)) + body


def program_stream_map(stream_type: int) -> bytes:
    entries = bytes([stream_type, VIDEO_ID, 0, 0])
    body = bytes([0xE0, 0xFF]) + struct.pack("!HH", 0, len(entries)) + entries  # current, version 0
    head = b"\x00\x00\x01\xbc" + struct.pack("!H", len(body) + 4)
    return head + body + struct.pack("!I", crc32_mpeg(head + body))


def pes(data: bytes, pts: int | None, dts: int | None) -> bytes:
    if pts is None:
        flags, fields = 0x00, b""
    elif dts is None or dts == pts:
        flags, fields = 0x80, _ts_bytes(0x2, pts)
    else:
        flags, fields = 0xC0, _ts_bytes(0x3, pts) + _ts_bytes(0x1, dts)
    head = bytes([0x80 | (0x04 if pts is not None else 0), flags, len(fields)]) + fields
    return b"\x00\x00\x01" + bytes([VIDEO_ID]) + struct.pack("!H", len(head) + len(data)) + head + data


class PsMux:
    """Frames in, PS bytes out: one pack per frame; system header and PSM on every key frame.

    Time stamps are moved so that the first frame's SCR is 0: a live receiver (GStreamer's
    mpegpsdemux in push mode) paces by them from 0, and mpegtsmux starts its own an hour in."""

    SCR_LEAD: Final = 3600  # the SCR runs 40 ms ahead of the decode time

    def __init__(self, max_pes: int = MAX_PES) -> None:
        self.max_payload = max_pes - 6 - 13  # PES header with PTS and DTS
        self.base: int | None = None
        self.last_scr = 0

    def _shift(self, ts: int | None) -> int | None:
        return None if ts is None or self.base is None else (ts - self.base) & ((1 << 33) - 1)

    def mux(self, frame: Frame) -> bytes:
        ref = frame.dts if frame.dts is not None else frame.pts
        if self.base is None and ref is not None:
            self.base = ref - self.SCR_LEAD
        pts, dts = self._shift(frame.pts), self._shift(frame.dts)
        shifted = self._shift(ref)
        scr = self.last_scr if shifted is None else max(shifted - self.SCR_LEAD, 0)
        self.last_scr = scr
        out = [pack_header(scr)]
        if frame.key:
            out += [system_header(), program_stream_map(frame.stream_type)]
        first = frame.start
        for i in range(0, max(len(frame.data), 1), self.max_payload):
            part = frame.data[i : i + self.max_payload]
            out.append(pes(part, pts, dts) if first else pes(part, None, None))
            first = False
        return b"".join(out)

    def pts(self, frame: Frame) -> int | None:
        """The frame's PTS as this muxer wrote it (for the RTP time stamp)."""
        return self._shift(frame.pts)
