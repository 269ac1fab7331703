"""Pure Modbus RTU framing for the four read functions the button drivers use.

Bytes in, a typed result out; no I/O. The decoder scans past leading noise for a frame from the
polled unit, so a burst of garbage before a good reply costs nothing but a counter.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

# Modbus limits per request (Modbus application protocol v1.1b3, sections 6.1-6.4).
MAX_BITS = 2000
MAX_REGISTERS = 125


class Function(IntEnum):
    READ_COILS = 1
    READ_DISCRETE_INPUTS = 2
    READ_HOLDING_REGISTERS = 3
    READ_INPUT_REGISTERS = 4

    @property
    def is_bits(self) -> bool:
        return self in (Function.READ_COILS, Function.READ_DISCRETE_INPUTS)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<H", crc16(body))


def build_read(unit: int, function: Function, address: int, count: int) -> bytes:
    """The request frame for reading `count` items from `address` on `unit`."""
    limit = MAX_BITS if function.is_bits else MAX_REGISTERS
    if not 1 <= unit <= 247 or not 0 <= address <= 0xFFFF or not 1 <= count <= limit:
        raise ValueError(f"bad read: unit={unit} address={address} count={count}")
    return with_crc(struct.pack(">BBHH", unit, function, address, count))


def reply_data_len(function: Function, count: int) -> int:
    return (count + 7) // 8 if function.is_bits else 2 * count


def reply_len(function: Function, count: int) -> int:
    return 5 + reply_data_len(function, count)


@dataclass(frozen=True, slots=True)
class Reply:
    values: tuple[int, ...]  # bits as 0/1, or 16-bit registers
    skipped: int  # noise bytes before the frame


@dataclass(frozen=True, slots=True)
class ExceptionReply:
    code: int
    skipped: int


@dataclass(frozen=True, slots=True)
class Pending:
    """No complete frame yet. `crc_bad` says a frame-shaped run with a wrong CRC was seen."""

    crc_bad: bool


Decoded = Reply | ExceptionReply | Pending


def decode_reply(buf: bytes | bytearray, unit: int, function: Function, count: int) -> Decoded:
    """Find the reply from `unit` to a read of `count` items in `buf`."""
    want = reply_data_len(function, count)
    crc_bad = False
    n = len(buf)
    for i in range(n - 1):
        if buf[i] != unit:
            continue
        fc = buf[i + 1]
        if fc == function | 0x80:
            frame = buf[i : i + 5]
            if len(frame) < 5:
                return Pending(crc_bad)
            if crc16(frame[:3]) == int.from_bytes(frame[3:5], "little"):
                return ExceptionReply(frame[2], i)
            crc_bad = True
            continue
        if fc != function or i + 2 >= n:
            if fc == function:
                return Pending(crc_bad)
            continue
        if buf[i + 2] != want:
            continue
        end = i + 3 + want + 2
        if end > n:
            return Pending(crc_bad)
        if crc16(buf[i : end - 2]) != int.from_bytes(buf[end - 2 : end], "little"):
            crc_bad = True
            continue
        return Reply(_values(bytes(buf[i + 3 : end - 2]), function, count), i)
    return Pending(crc_bad)


def _values(data: bytes, function: Function, count: int) -> tuple[int, ...]:
    if function.is_bits:
        return tuple((data[k // 8] >> (k % 8)) & 1 for k in range(count))
    return struct.unpack(f">{count}H", data)


def build_reply(unit: int, function: Function, values: list[int]) -> bytes:
    """A reply frame (used by tests and the commissioning tools to cross-check the decoder)."""
    if function.is_bits:
        data = bytearray((len(values) + 7) // 8)
        for k, v in enumerate(values):
            if v:
                data[k // 8] |= 1 << (k % 8)
        payload = bytes(data)
    else:
        payload = struct.pack(f">{len(values)}H", *values)
    return with_crc(struct.pack(">BBB", unit, function, len(payload)) + payload)
