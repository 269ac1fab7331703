"""A tiny read-only HTTP server on loopback for the demo's peer pages (police receiver, video platform)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Self

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 5.0
NOT_FOUND = ("404 Not Found", "text/plain", b"not found")


class PageServer:
    """Serves GET heads with `route(path)`; one request per connection, nothing kept between them."""

    name = "page"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def route(self, path: str) -> tuple[str, str, bytes]:
        """(status line, content type, body) for `path`."""
        return NOT_FOUND

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
            status, ctype, body = self.route(path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-cache\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            log.debug("%s: request dropped: %r", self.name, exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
