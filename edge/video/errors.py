"""The one error type frame grabbing raises, with a machine-readable reason."""

from __future__ import annotations

from typing import Final

# Every reason a grab can fail with; the camera driver maps them to states and counters.
REASONS: Final = frozenset(
    {
        "bad_uri",  # not an rtsp/http(s)/file URI we can open
        "open_failed",  # the stream did not open (refused, not found, unsupported, open timeout)
        "read_timeout",  # opened, but no frame arrived within the read timeout
        "read_failed",  # the stream ended or the decoder gave up before a frame
        "decode_failed",  # bytes arrived but are not a picture (garbage JPEG, empty body)
        "http_status",  # the snapshot URL answered with a non-2xx status
        "auth_failed",  # 401/403 even with credentials
        "connect_failed",  # TCP/TLS connection to the snapshot URL failed
        "too_large",  # a snapshot bigger than any real camera picture
        "timeout",  # the whole grab exceeded its deadline
        "cancelled",  # the caller stopped waiting
    }
)


class GrabError(Exception):
    """A frame could not be obtained. `reason` is one of REASONS; the message never holds a password."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown grab error reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
