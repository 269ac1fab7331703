"""The serial port of one RS-485 bus, driven from the asyncio loop without blocking it.

Why not pymodbus's async client: it folds CRC errors, noise and silence into one "no response",
so per-unit error reasons (which tell a technician "bad cable" from "dead unit") would be lost, and
its own reconnect timer would fight the bus's back-off and offline accounting. Why not a thread:
`asyncio.timeout` cannot cancel a thread blocked in `read()`. So pyserial (well kept) opens and
configures the port, and the loop's own reader callback (`add_reader`) waits for bytes; every
transaction is bounded by `asyncio.timeout` and the pure framing lives in `modbus_frame`.
POSIX only, which is what the gateway runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from dataclasses import dataclass

import serial

from edge.drivers.modbus_frame import Decoded, ExceptionReply, Function, Pending, Reply, build_read, decode_reply

# Bigger than any reply we request (5 + 250 bytes), so one read drains a whole frame.
_READ_CHUNK = 512


class PortLost(Exception):
    """The port went away (adapter unplugged, pty closed): the bus must be reopened."""


@dataclass(frozen=True, slots=True)
class Failure:
    """No usable reply. reason: timeout | crc | garbage."""

    reason: str
    received: int


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Reply | ExceptionReply | Failure
    stale: int  # bytes found waiting before the request was sent (late replies, noise)


class SerialLink:
    def __init__(self, port: str, baudrate: int, parity: str, stopbits: int, bytesize: int) -> None:
        self.port = port
        self._settings = {"baudrate": baudrate, "parity": parity, "stopbits": stopbits, "bytesize": bytesize}
        self._ser: serial.Serial | None = None
        self._fd = -1

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    async def open(self, open_timeout_s: float) -> None:
        async with asyncio.timeout(open_timeout_s):
            ser = await asyncio.to_thread(self._open_blocking)
        self._ser = ser
        self._fd = ser.fileno()
        os.set_blocking(self._fd, False)

    def _open_blocking(self) -> serial.Serial:
        try:
            # exclusive: two daemons polling one bus would corrupt each other's frames.
            return serial.Serial(self.port, timeout=0, exclusive=True, **self._settings)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortLost(f"cannot open {self.port}: {exc}") from exc

    def close(self) -> None:
        ser, self._ser, self._fd = self._ser, None, -1
        if ser is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                ser.close()

    def _read_now(self, ready: bool) -> bytes:
        """Read what is waiting. With VMIN=0 a tty returns b"" when empty, so b"" only means "gone"
        after the loop reported the fd readable (the same test pyserial uses)."""
        try:
            data = os.read(self._fd, _READ_CHUNK)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise PortLost(f"{self.port}: {exc.strerror}") from exc
        if not data and ready:
            raise PortLost(f"{self.port}: readable but no data (device gone)")
        return data

    def _drain(self) -> int:
        stale = 0
        while chunk := self._read_now(ready=False):
            stale += len(chunk)
        return stale

    async def _wait_readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)

    def _write(self, frame: bytes) -> None:
        try:
            sent = os.write(self._fd, frame)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise PortLost(f"{self.port}: output stuck") from exc
            raise PortLost(f"{self.port}: {exc.strerror}") from exc
        if sent != len(frame):
            raise PortLost(f"{self.port}: short write {sent}/{len(frame)}")

    async def read(self, unit: int, function: Function, address: int, count: int, reply_timeout_s: float) -> Outcome:
        """One request/reply transaction; raises PortLost when the port is gone."""
        if self._ser is None:
            raise PortLost(f"{self.port}: not open")
        stale = self._drain()
        self._write(build_read(unit, function, address, count))
        buf = bytearray()
        decoded: Decoded = Pending(crc_bad=False)
        try:
            async with asyncio.timeout(reply_timeout_s):
                while True:
                    await self._wait_readable()
                    buf += self._read_now(ready=True)
                    decoded = decode_reply(buf, unit, function, count)
                    if not isinstance(decoded, Pending):
                        return Outcome(decoded, stale)
        except TimeoutError:
            pass
        if not buf:
            return Outcome(Failure("timeout", 0), stale)
        reason = "crc" if isinstance(decoded, Pending) and decoded.crc_bad else "garbage"
        return Outcome(Failure(reason, len(buf)), stale)
