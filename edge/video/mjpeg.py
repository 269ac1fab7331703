"""MJPEG over HTTP (multipart/x-mixed-replace) read by us, every part bounded, instead of by FFmpeg.

FFmpeg buffers a part with no Content-Length until its boundary comes, however long that takes: a
camera sending one endless part grew the process by a gigabyte. Here a part's headers, its declared
length and the bytes scanned for its boundary are all capped (MAX_FRAME_BYTES), and the whole read is
under the grab's deadline; past a cap the grab fails `too_large` and is counted.
"""

from __future__ import annotations

import asyncio
from typing import Final

import httpx

from edge.camhttp import camera_tls
from edge.redact import redact_url as redact
from edge.video.errors import GrabError
from edge.video.snapshot import MAX_SNAPSHOT_BYTES, Auth, to_auth

MAX_FRAME_BYTES: Final = MAX_SNAPSHOT_BYTES
MAX_PART_HEADER: Final = 8 * 1024


class NotMultipart(Exception):
    """The URL serves something else (an FLV or MP4 over HTTP): FFmpeg must read it."""


def _boundary(content_type: str) -> bytes | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').removeprefix("--").encode()
    return None


class _Parts:
    """JPEG parts off one response, each read within the caps."""

    def __init__(self, chunks: httpx.Response, boundary: bytes, url: str) -> None:
        self._it = chunks.aiter_bytes()
        self._buf = bytearray()
        self._delim = b"--" + boundary
        self._url = url

    async def _more(self) -> None:
        try:
            chunk = await anext(self._it)
        except StopAsyncIteration:
            raise GrabError("read_failed", f"stream ended: {redact(self._url)}") from None
        self._buf += chunk

    def _too_large(self, what: str) -> GrabError:
        return GrabError("too_large", f"{what} over {MAX_FRAME_BYTES} bytes from {redact(self._url)}")

    async def next(self) -> bytes:
        while (start := self._buf.find(self._delim)) < 0:
            if len(self._buf) > MAX_FRAME_BYTES:
                raise self._too_large("bytes before a boundary")
            await self._more()
        del self._buf[:start]
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > MAX_PART_HEADER:
                raise GrabError("read_failed", f"part headers over {MAX_PART_HEADER} bytes from {redact(self._url)}")
            await self._more()
        headers = bytes(self._buf[:end]).decode("latin-1").split("\r\n")[1:]
        del self._buf[: end + 4]
        length = next((h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("content-length:")), None)
        if length is not None and length.isdigit():
            size = int(length)
            if size > MAX_FRAME_BYTES:
                raise self._too_large(f"part of {size} declared bytes")
            while len(self._buf) < size:
                await self._more()
            body = bytes(self._buf[:size])
            del self._buf[:size]
            return body
        while (stop := self._buf.find(self._delim)) < 0:  # no length: up to the next boundary, capped
            if len(self._buf) > MAX_FRAME_BYTES:
                raise self._too_large("part without a length")
            await self._more()
        body = bytes(self._buf[:stop]).rstrip(b"\r\n")
        del self._buf[:stop]
        return body


async def fetch_mjpeg(url: str, count: int, interval: float, timeout: float, auth: Auth) -> list[bytes]:  # noqa: ASYNC109
    """`count` JPEG parts `interval` s apart (the parts between read and dropped), or GrabError.

    NotMultipart when the URL answers with something other than a multipart stream."""
    budget = timeout * (count + 1) + interval * (count - 1)
    loop = asyncio.get_running_loop()
    try:
        async with (
            asyncio.timeout(budget),
            httpx.AsyncClient(verify=camera_tls()) as http,
            http.stream("GET", url, auth=to_auth(auth) or httpx.USE_CLIENT_DEFAULT, timeout=timeout) as resp,
        ):
            if resp.status_code in (401, 403):
                raise GrabError("auth_failed", f"HTTP {resp.status_code} from {redact(url)}")
            if not 200 <= resp.status_code < 300:
                raise GrabError("http_status", f"HTTP {resp.status_code} from {redact(url)}")
            boundary = _boundary(resp.headers.get("content-type", ""))
            if boundary is None:
                raise NotMultipart(resp.headers.get("content-type", ""))
            parts = _Parts(resp, boundary, url)
            frames = [await parts.next()]
            first_at = loop.time()
            for i in range(1, count):
                due = first_at + i * interval
                part = await parts.next()
                while loop.time() < due:
                    part = await parts.next()
                frames.append(part)
            return frames
    except TimeoutError:
        raise GrabError("timeout", f"{redact(url)} took over {budget:.0f} s") from None
    except httpx.TimeoutException as exc:
        raise GrabError("timeout", f"{type(exc).__name__} from {redact(url)}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise GrabError("bad_uri", redact(url)) from None
    except httpx.HTTPError as exc:
        raise GrabError("connect_failed", f"{type(exc).__name__} from {redact(url)}") from None
