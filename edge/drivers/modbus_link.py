"""The serial port of one RS-485 bus, driven from the asyncio loop without blocking it.

Why not pymodbus's async client: it folds CRC errors, noise and silence into one "no response",
so per-unit error reasons (which tell a technician "bad cable" from "dead unit") would be lost, and
its own reconnect timer would fight the bus's back-off and offline accounting. Why not a thread:
`asyncio.timeout` cannot cancel a thread blocked in `read()`. So pyserial (well kept) opens and
configures the port, and the loop's own reader callback (`add_reader`) takes the bytes; the pure
framing lives in `modbus_frame`. POSIX only, which is what the gateway runs.

Cost per transaction matters: a site polls 16 units 5 times a second all day, so this is most of an
idle gateway's CPU. The reader stays registered while the port is open (no epoll_ctl pair per
transaction) and reads and decodes in its callback; `start` hands the outcome to a callback, so the
bus driver sends the next unit's request from there without a task wake-up per transaction (`read`
is the awaitable form, for one-off transactions). The callback is the only reader of the fd: a tty
with VMIN=0 returns b"" when empty, so b"" means "device gone" only when nobody else can have
emptied it since epoll said "readable".
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable
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


Done = Callable[[Outcome | PortLost], None]


class _Transaction:
    """One request awaiting its reply: the reader callback feeds it, a full frame or the timer ends it."""

    __slots__ = ("buf", "count", "decoded", "done", "function", "stale", "timer", "unit")

    def __init__(self, unit: int, function: Function, count: int, stale: int, done: Done) -> None:
        self.unit, self.function, self.count, self.stale, self.done = unit, function, count, stale, done
        self.buf = bytearray()
        self.decoded: Decoded = Pending(crc_bad=False)
        self.timer: asyncio.TimerHandle | None = None

    def outcome(self) -> Outcome:
        decoded = self.decoded
        if not isinstance(decoded, Pending):
            return Outcome(decoded, self.stale)
        if not self.buf:
            return Outcome(Failure("timeout", 0), self.stale)
        return Outcome(Failure("crc" if decoded.crc_bad else "garbage", len(self.buf)), self.stale)


class SerialLink:
    def __init__(self, port: str, baudrate: int, parity: str, stopbits: int, bytesize: int) -> None:
        self.port = port
        self._settings = {"baudrate": baudrate, "parity": parity, "stopbits": stopbits, "bytesize": bytesize}
        self._ser: serial.Serial | None = None
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: _Transaction | None = None
        self._stale = 0  # bytes read while no request was waiting (late replies, noise)
        self._lost = ""  # why the port is gone, once the reader saw it go
        self._frames: dict[tuple[int, Function, int, int], bytes] = {}  # a bus asks the same few reads all day

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    async def open(self, open_timeout_s: float) -> None:
        async with asyncio.timeout(open_timeout_s):
            ser = await asyncio.to_thread(self._open_blocking)
        self._ser = ser
        self._fd = ser.fileno()
        os.set_blocking(self._fd, False)
        self._stale, self._lost = 0, ""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._on_readable)

    def _open_blocking(self) -> serial.Serial:
        try:
            # exclusive: two daemons polling one bus would corrupt each other's frames.
            return serial.Serial(self.port, timeout=0, exclusive=True, **self._settings)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortLost(f"cannot open {self.port}: {exc}") from exc

    def close(self) -> None:
        self.cancel()
        ser, self._ser, fd, self._fd = self._ser, None, self._fd, -1
        loop, self._loop = self._loop, None
        if loop is not None and fd >= 0 and not loop.is_closed():
            loop.remove_reader(fd)
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
        """Discard what is waiting now (outside the loop's reader, e.g. before closing in tests)."""
        stale = 0
        while chunk := self._read_now(ready=False):
            stale += len(chunk)
        return stale

    def _on_readable(self) -> None:
        try:
            data = self._read_now(ready=True)
        except PortLost as exc:
            self._gone(str(exc))
            return
        t = self._pending
        if t is None:
            self._stale += len(data)
            return
        t.buf += data
        t.decoded = decode_reply(t.buf, t.unit, t.function, t.count)
        if not isinstance(t.decoded, Pending):
            self._end(t, t.outcome())

    def _expire(self, t: _Transaction) -> None:
        if self._pending is t:
            self._end(t, t.outcome())

    def _end(self, t: _Transaction, result: Outcome | PortLost) -> None:
        # Cleared before `done` runs: it may start the next transaction at once.
        self._pending = None
        if t.timer is not None:
            t.timer.cancel()
        t.done(result)

    def _gone(self, why: str) -> None:
        # Level-triggered: a dead fd stays "readable", so stop watching it until the bus reopens.
        self._lost = why
        if self._loop is not None and self._fd >= 0:
            self._loop.remove_reader(self._fd)
        if (t := self._pending) is not None:
            self._end(t, PortLost(why))

    def _write(self, frame: bytes) -> None:
        try:
            sent = os.write(self._fd, frame)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise PortLost(f"{self.port}: output stuck") from exc
            raise PortLost(f"{self.port}: {exc.strerror}") from exc
        if sent != len(frame):
            raise PortLost(f"{self.port}: short write {sent}/{len(frame)}")

    def start(
        self, unit: int, function: Function, address: int, count: int, reply_timeout_s: float, done: Done
    ) -> None:
        """Send one request; `done` gets its Outcome (or PortLost) once, from a loop callback. Raises
        PortLost when the port is already gone. One transaction at a time: the bus is half duplex."""
        loop = self._loop
        if self._ser is None or loop is None:
            raise PortLost(f"{self.port}: not open")
        if self._lost:
            raise PortLost(self._lost)
        key = (unit, function, address, count)
        if (frame := self._frames.get(key)) is None:
            frame = self._frames[key] = build_read(unit, function, address, count)
        t = _Transaction(unit, function, count, self._stale, done)
        self._stale = 0
        self._write(frame)
        t.timer = loop.call_at(loop.time() + reply_timeout_s, self._expire, t)
        self._pending = t

    def cancel(self) -> None:
        """Drop the transaction in flight (its caller went away); a late reply counts as stale."""
        if (t := self._pending) is not None:
            self._pending = None
            if t.timer is not None:
                t.timer.cancel()

    async def read(self, unit: int, function: Function, address: int, count: int, reply_timeout_s: float) -> Outcome:
        """One request/reply transaction; raises PortLost when the port is gone."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Outcome | PortLost] = loop.create_future()

        def done(r: Outcome | PortLost) -> None:
            if not result.done():
                result.set_result(r)

        self.start(unit, function, address, count, reply_timeout_s, done)
        try:
            r = await result
        finally:
            if not result.done():
                self.cancel()
        if isinstance(r, PortLost):
            raise r
        return r
