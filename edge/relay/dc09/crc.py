"""The DC-09 frame check: CRC-16/ARC (poly 0x8005 reflected as 0xA001, init 0), four upper-case hex digits."""

from __future__ import annotations


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


_TABLE = _table()


def crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc


def crc_hex(data: bytes) -> str:
    """The CRC as the frame writes it: "%04X"."""
    return f"{crc16(data):04X}"
