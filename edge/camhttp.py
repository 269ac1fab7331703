"""HTTP to cameras, shared by the ONVIF client and the snapshot/MJPEG fetches: auth and TLS as cameras need."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Generator

import httpx


class CameraAuth(httpx.Auth):
    """Username/password answering whichever challenge the camera sends: Digest (most IPCs) or Basic.

    Unlike httpx.BasicAuth it never sends the password before a challenge, and unlike
    httpx.DigestAuth alone it still works with cameras that only offer Basic.
    """

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self._digest = httpx.DigestAuth(username, password)

    def __repr__(self) -> str:
        return f"CameraAuth({self._username!r}, '***')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        scheme = response.headers.get("www-authenticate", "").split(" ", 1)[0].lower()
        if scheme == "digest":
            flow = self._digest.auth_flow(request)
            next(flow)  # DigestAuth's own unauthenticated first try: we already have its answer
            try:
                retry = flow.send(response)
            except StopIteration:
                return
            yield retry
        elif scheme == "basic":
            yield next(httpx.BasicAuth(self._username, self._password).auth_flow(request))


@functools.cache
def camera_tls() -> ssl.SSLContext:
    """One shared TLS context: building one per request costs ~20 ms of CPU on the event loop.

    Cameras serve self-signed certificates, so camera HTTPS is not verified; the password never
    crosses in clear (Digest, or a WS-Security digest for ONVIF).
    """
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
