"""One HTTP byte range (RFC 9110 14.1.2) over an in-memory body: what a browser's <video> asks for."""

from __future__ import annotations

import re

from fastapi import Response, status

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, None for the whole body; ValueError when unsatisfiable.

    Only single ranges: a multipart/byteranges reply is never what a video element asks for, so a
    list of ranges gets the whole body (which RFC 9110 allows)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        n = int(last)
        if n == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("range outside the body")
    return start, end


def ranged(body: bytes, header: str | None, media_type: str, headers: dict[str, str]) -> Response:
    """200 with the body, 206 with the asked part, or 416."""
    base = {"Accept-Ranges": "bytes", **headers}
    try:
        span = parse_range(header, len(body))
    except ValueError:
        return Response(
            status_code=status.HTTP_416_RANGE_NOT_SATISFIABLE, headers={"Content-Range": f"bytes */{len(body)}"}
        )
    if span is None:
        return Response(body, media_type=media_type, headers=base)
    first, last = span
    base["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
    return Response(
        body[first : last + 1], status_code=status.HTTP_206_PARTIAL_CONTENT, media_type=media_type, headers=base
    )
