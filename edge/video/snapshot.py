"""Snapshot JPEGs over HTTP(S): fetch with basic or digest auth, decode (Pillow) off the loop under the bound."""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Final

import httpx

from edge.camhttp import CameraAuth, camera_tls
from edge.metrics import bad_input
from edge.redact import redact_url
from edge.video import jpeg
from edge.video.errors import GrabError
from edge.video.limiter import DECODES, DecodeLimiter
from edge.video.pixels import Image

logger = logging.getLogger(__name__)

# A 4K JPEG at high quality is 2-3 MB; anything past this is not a camera picture.
MAX_SNAPSHOT_BYTES: Final = 8 * 1024 * 1024
# Smallest body that can hold a JPEG header and one scan.
MIN_JPEG_BYTES: Final = 64

Auth = tuple[str, str] | httpx.Auth | None


def to_auth(auth: Auth) -> httpx.Auth | None:
    if isinstance(auth, tuple):
        return CameraAuth(*auth)
    return auth


def decode_jpeg(data: bytes, source: str = "snapshot") -> Image:
    """Bytes to a BGR frame; anything that is not a picture raises GrabError("decode_failed")."""
    if len(data) < MIN_JPEG_BYTES:
        raise GrabError("decode_failed", f"{len(data)} bytes")
    try:
        return jpeg.decode(data)
    except jpeg.DecodeError as exc:
        raise GrabError("decode_failed", f"{len(data)} bytes: {exc}") from None


async def fetch_snapshot(
    url: str,
    auth: Auth = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - httpx applies it per connect/read/write, a stalled peer included
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """The snapshot body, or GrabError with a reason; the URL in messages is redacted."""
    own = client is None
    http = client or httpx.AsyncClient(verify=camera_tls())
    try:
        async with http.stream("GET", url, auth=to_auth(auth) or httpx.USE_CLIENT_DEFAULT, timeout=timeout) as resp:
            if resp.status_code in (401, 403):
                raise GrabError("auth_failed", f"HTTP {resp.status_code} from {redact_url(url)}")
            if not 200 <= resp.status_code < 300:
                raise GrabError("http_status", f"HTTP {resp.status_code} from {redact_url(url)}")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_SNAPSHOT_BYTES:
                    raise GrabError("too_large", f"over {MAX_SNAPSHOT_BYTES} bytes from {redact_url(url)}")
            return bytes(body)
    except httpx.TimeoutException as exc:
        raise GrabError("timeout", f"{type(exc).__name__} from {redact_url(url)}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise GrabError("bad_uri", redact_url(url)) from None
    except httpx.HTTPError as exc:  # connect, TLS, protocol and read errors
        raise GrabError("connect_failed", f"{type(exc).__name__} from {redact_url(url)}") from None
    finally:
        if own:
            await http.aclose()


async def grab_snapshot(
    url: str,
    auth: Auth = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - split between the fetch (httpx) and the decode (worker thread)
    *,
    client: httpx.AsyncClient | None = None,
    executor: concurrent.futures.Executor | None = None,
    limiter: DecodeLimiter = DECODES,
) -> Image:
    """Fetch one snapshot JPEG and decode it off the event loop under the decode bound."""
    data = await fetch_snapshot(url, auth, timeout, client)
    try:
        return await limiter.run(lambda: decode_jpeg(data), executor, timeout)
    except GrabError as exc:
        bad_input(logger, "video", exc.reason, redact_url(url))
        raise
    except TimeoutError:
        raise GrabError("timeout", f"decoding {redact_url(url)}") from None
