"""Garbage SOAP from a camera: our ONVIF client never crashes, every failure is typed, garbage is counted.

A real HTTP server on loopback answers every request with 200 and arbitrary bytes (or XML-shaped
garbage); the real `OnvifSession` asks it GetServices. Each call ends in a typed `CallError`, and a
`malformed` one is counted in edge_bad_input_total{source="onvif:fuzz"}.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.onvif.session import MALFORMED, CallError, OnvifSession
from tests.e2e.site import PeerLoop
from tests.fuzz.counting import bad_inputs


class GarbageCamera:
    """HTTP/1.1 on loopback; answers whatever is in `body` with 200 and a SOAP content type."""

    def __init__(self) -> None:
        self.body = b""
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                + f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
                + self.body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture(scope="module")
def camera() -> Iterator[GarbageCamera]:
    loop = PeerLoop()
    cam = GarbageCamera()
    loop.call(cam.start())
    try:
        yield cam
    finally:
        loop.call(cam.stop())
        loop.close()


def ask(cam: GarbageCamera, body: bytes) -> tuple[CallError | None, float]:
    cam.body = body

    async def go() -> CallError | None:
        s = OnvifSession(f"http://127.0.0.1:{cam.port}/onvif/device_service", "admin", "pw", "onvif:fuzz", 3.0)
        try:
            await s.discover()
        except CallError as exc:
            return exc
        finally:
            await s.close()
        return None

    before = bad_inputs("onvif:fuzz")
    err = asyncio.run(go())
    return err, bad_inputs("onvif:fuzz") - before


SOAP = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>'
)
xml_garbage = st.builds(
    lambda inner, cut: (SOAP + inner + b"</s:Body></s:Envelope>")[: cut or None],
    st.sampled_from(
        [b"", b"<tds:GetServicesResponse/>", b"<tds:GetServicesResponse><tds:Service/></tds:GetServicesResponse>",
         b"<x>", b"&bogus;", b"<tds:GetServicesResponse><tds:Service><tds:XAddr>\x00</tds:XAddr>"]
    ) | st.binary(max_size=60),
    st.integers(0, 300),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | xml_garbage)
def test_garbage_replies_are_typed_and_counted(camera: GarbageCamera, body: bytes) -> None:
    err, counted = ask(camera, body)
    if err is None:
        return  # it was a (possibly empty) GetServices answer: nothing was rejected
    if err.kind == MALFORMED:
        assert counted == 1
    else:
        assert counted == 0, err


@pytest.mark.parametrize("body", [b"", b"\x00\xff garbage", b"<html>not soap</html>", SOAP])
def test_plain_garbage_is_malformed(camera: GarbageCamera, body: bytes) -> None:
    err, counted = ask(camera, body)
    assert err is not None and err.kind == MALFORMED
    assert counted == 1
