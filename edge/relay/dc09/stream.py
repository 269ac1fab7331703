"""Reply framing on a byte stream: pure, bytes in and whole reply frames out, garbage counted.

A reply is ``LF ... CR`` or a bare quoted reply such as ``"NAK"``; one read is never taken for one
reply. Bytes before a frame start are garbage, and a buffer past the longest legal frame is dropped.
"""

from __future__ import annotations

import logging

from edge.metrics import bad_input
from edge.relay.dc09.frame import MAX_FRAME

log = logging.getLogger(__name__)


class ReplySplitter:
    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return every complete frame now in the buffer, oldest first."""
        self._buf += data
        out: list[bytes] = []
        while True:
            self._buf = self._buf.lstrip(b" \x00")
            frame = self._next()
            if frame is None:
                break
            out.append(frame)
        if len(self._buf) > MAX_FRAME:
            bad_input(log, "dc09", "overflow", f"{len(self._buf)} bytes without a frame end")
            self._buf = b""
        return out

    def _next(self) -> bytes | None:
        buf = self._buf
        if buf.startswith(b'"'):  # a bare reply such as "NAK"
            end = buf.find(b'"', 1)
        elif buf.startswith(b"\n"):
            end = buf.find(b"\r")
        elif buf:
            skip = min((i for i in (buf.find(b"\n"), buf.find(b'"')) if i > 0), default=len(buf))
            bad_input(log, "dc09", "garbage", repr(buf[:skip][:32]))
            self._buf = buf[skip:]
            return self._next()
        else:
            return None
        if end <= 0:
            return None
        self._buf = buf[end + 1 :]
        return buf[: end + 1]

    def clear(self) -> int:
        """Forget a partial frame (a new connection); returns how many bytes went."""
        n, self._buf = len(self._buf), b""
        return n
