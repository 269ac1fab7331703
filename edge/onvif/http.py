"""A minimal HTTP/1.1 POST for SOAP calls: one connection per call, every read bounded, Digest/Basic auth.

Why not httpx: ~1 ms of CPU per request in its pool and auth layers (plus a failed `import sniffio`
per request without that package) is half the camera worker's idle CPU at 128 cameras; a SOAP call
needs none of it. The caller's asyncio.timeout bounds the whole exchange; this module bounds sizes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

# Header lines and their number, as embedded web servers limit them.
MAX_LINE: Final = 16 * 1024
MAX_HEADERS: Final = 100
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


class ProtocolError(ConnectionError):
    """The peer does not speak HTTP/1.x to us (or hung up mid-answer): no usable contact."""


class TooLarge(ValueError):
    """The body passes the caller's limit (declared or as read)."""


class BadAddress(ValueError):
    """A service address that is not an http(s) URL with a host."""


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; the first WWW-Authenticate is kept
    body: bytes


@dataclass(slots=True)
class DigestState:
    """A Digest challenge, reused for the following calls (nc counts up) until the device sends another."""

    params: dict[str, str]
    nc: int = 0
    cnonce: str = field(default_factory=lambda: os.urandom(8).hex())


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(rest)}


def _hash(algorithm: str, text: str) -> str:
    name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"
    return hashlib.new(name, text.encode(), usedforsecurity=False).hexdigest()


def digest_header(state: DigestState, username: str, password: str, method: str, uri: str) -> str:
    """RFC 7616 Authorization (MD5 or SHA-256, -sess too; qop=auth or none)."""
    p = state.params
    algorithm = p.get("algorithm", "MD5")
    state.nc += 1
    nc = f"{state.nc:08x}"
    ha1 = _hash(algorithm, f"{username}:{p.get('realm', '')}:{password}")
    if algorithm.lower().endswith("-sess"):
        ha1 = _hash(algorithm, f"{ha1}:{p.get('nonce', '')}:{state.cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    fields = {"username": username, "realm": p.get("realm", ""), "nonce": p.get("nonce", ""), "uri": uri}
    if "auth" in qops:
        fields["response"] = _hash(algorithm, f"{ha1}:{p.get('nonce', '')}:{nc}:{state.cnonce}:auth:{ha2}")
        extra = f', qop=auth, nc={nc}, cnonce="{state.cnonce}"'
    else:
        fields["response"] = _hash(algorithm, f"{ha1}:{p.get('nonce', '')}:{ha2}")
        extra = ""
    if "opaque" in p:
        fields["opaque"] = p["opaque"]
    quoted = ", ".join(f'{k}="{v}"' for k, v in fields.items())
    return f"Digest {quoted}, algorithm={algorithm}{extra}"


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def post(url: str, body: bytes, headers: dict[str, str], limit: int, tls: ssl.SSLContext) -> Response:
    """POST `body` to `url` on a fresh connection and read the answer (at most `limit` body bytes)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadAddress(f"not an http(s) URL: {parts.scheme}://")
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    head = [f"POST {target} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=tls if secure else None, limit=MAX_LINE)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        return await _read_response(reader, limit)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            writer.transport.abort()  # no lingering TLS close handshake with a peer that went quiet


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ProtocolError("connection closed before an answer") from None
        raise ProtocolError("connection closed mid-line") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError(f"header line over {MAX_LINE} bytes") from None


async def _read_response(reader: asyncio.StreamReader, limit: int) -> Response:
    status_line = (await _line(reader)).decode("latin-1").split(None, 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1.") or not status_line[1].isdigit():
        raise ProtocolError(f"not an HTTP status line: {' '.join(status_line)[:60]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = (await _line(reader)).decode("latin-1").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        key = name.strip().lower()
        if key != "www-authenticate" or key not in headers:
            headers[key] = value.strip()
    else:
        raise ProtocolError(f"over {MAX_HEADERS} header lines")
    return Response(int(status_line[1]), headers, await _read_body(reader, headers, limit))


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> bytes:
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await _chunked(reader, limit)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise ProtocolError(f"bad Content-Length {declared[:20]!r}")
            if int(declared) > limit:
                raise TooLarge(f"declared {declared} bytes, cap {limit}")
            return await reader.readexactly(int(declared))
        body = bytearray()  # neither: the body runs until the peer closes
        while chunk := await reader.read(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise TooLarge(f"over {limit} bytes")
        return bytes(body)
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed mid-body") from None


async def _chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_text = (await _line(reader)).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            return bytes(body)
        if len(body) + size > limit:
            raise TooLarge(f"over {limit} bytes")
        body += await reader.readexactly(size)
        await _line(reader)  # the CRLF after each chunk
