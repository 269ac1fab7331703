"""The SOAP client's HTTP/1.1 (edge/onvif/http.py) against a loopback server sending raw, hostile answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from edge.camhttp import camera_tls
from edge.onvif import http
from edge.onvif.ops import get_device_information
from edge.onvif.session import MALFORMED, MAX_REPLY_BYTES, UNREACHABLE, CallError, OnvifSession

OK_BODY = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<tds:GetDeviceInformationResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
    b"<tds:Manufacturer>Raw</tds:Manufacturer></tds:GetDeviceInformationResponse></s:Body></s:Envelope>"
)


class RawServer:
    """Answers every request with `reply` (bytes, or a list of pieces written with flushes between)."""

    def __init__(self) -> None:
        self.reply: bytes | list[bytes] = b""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            for piece in [self.reply] if isinstance(self.reply, bytes) else self.reply:
                writer.write(piece)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onvif/device_service"


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    s = RawServer()
    await s.start()
    yield s
    await s.close()


async def _post(raw: RawServer) -> http.Response:
    return await http.post(raw.url, b"<x/>", {}, MAX_REPLY_BYTES, camera_tls())


async def _device_info(raw: RawServer) -> dict[str, str]:
    s = OnvifSession(raw.url, "admin", "pw", "onvif:raw", 2.0)
    try:
        return await get_device_information(s)
    finally:
        await s.close()


async def test_chunked_answer_is_reassembled(raw: RawServer) -> None:
    half = len(OK_BODY) // 2
    chunks = f"{half:x}\r\n".encode() + OK_BODY[:half] + f"\r\n{len(OK_BODY) - half:x};ext=1\r\n".encode()
    raw.reply = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", chunks, OK_BODY[half:] + b"\r\n0\r\n\r\n"]
    assert (await _device_info(raw))["Manufacturer"] == "Raw"


async def test_body_until_close_without_length(raw: RawServer) -> None:
    raw.reply = b"HTTP/1.0 200 OK\r\nContent-Type: application/soap+xml\r\n\r\n" + OK_BODY
    assert (await _device_info(raw))["Manufacturer"] == "Raw"


@pytest.mark.parametrize(
    "reply",
    [
        f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_REPLY_BYTES + 1}\r\n\r\n".encode(),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + f"{MAX_REPLY_BYTES + 1:x}\r\n".encode(),
        b"HTTP/1.1 200 OK\r\n\r\n" + b"A" * (MAX_REPLY_BYTES + 10),
    ],
    ids=["declared", "chunked", "until-close"],
)
async def test_oversized_answers_are_refused(raw: RawServer, reply: bytes) -> None:
    raw.reply = reply
    with pytest.raises(http.TooLarge):
        await _post(raw)
    with pytest.raises(CallError) as exc:
        await _device_info(raw)
    assert exc.value.kind == MALFORMED and "too_large" in exc.value.detail


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-Flood: 1\r\n" * (http.MAX_HEADERS + 1) + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (http.MAX_LINE + 1) + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<s:Envelope",
        b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"",
    ],
    ids=["not-http", "header-flood", "long-line", "cut-body", "bad-length", "bad-chunk", "silent-close"],
)
async def test_broken_http_is_no_contact(raw: RawServer, reply: bytes) -> None:
    raw.reply = reply
    with pytest.raises(http.ProtocolError):
        await _post(raw)
    with pytest.raises(CallError) as exc:
        await _device_info(raw)
    assert exc.value.kind == UNREACHABLE


def test_digest_header_matches_rfc_7616_example() -> None:
    """RFC 7616 section 3.9.1 (MD5): the response value the RFC gives."""
    state = http.DigestState(
        {
            "realm": "http-auth@example.org",
            "qop": "auth, auth-int",
            "algorithm": "MD5",
            "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
        },
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    header = http.digest_header(state, "Mufasa", "Circle of Life", "GET", "/dir/index.html")
    assert 'response="8ca523f5e9506fed4657c9700eebdbec"' in header
    assert "nc=00000001" in header and 'opaque="FQhe' in header
