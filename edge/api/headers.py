"""One security-header policy for every response: the dashboard, its static files, the API, the docs.

It is an ASGI middleware rather than per-route headers, so a route added later (or /static/*,
served by Starlette, not by us) cannot miss it: `/static/index.html` gets the same CSP as `/`.
The CSP, framing and sniffing headers are always set; Cache-Control only where a route did not
choose its own (the snapshot says "private, no-store", the stream "no-store").
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The dashboard loads only its own files; thumbnails and pre-alarm clips are blob: URLs made from API responses.
# frame-ancestors 'none' (and X-Frame-Options for older browsers): no site can frame the duty screen
# to trick a click on "acknowledge".
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ALWAYS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# API answers are live state and may name people: never stored by a browser or a proxy. The
# dashboard's files may be cached but must be revalidated, so an upgrade shows at the next load.
API_CACHE = "no-store"
PAGE_CACHE = "no-cache"
# Over HTTPS only: a year, the usual figure; a site that turns TLS off must first serve max-age=0.
HSTS = "max-age=31536000"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def csp_allowing_inline_scripts(html: str) -> str:
    """The policy with the page's own inline scripts allowed by hash (Swagger UI's start-up script)."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return CSP.replace("script-src 'self'", f"script-src 'self' {hashes}")


class SecurityHeaders:
    """ASGI middleware; `csp_overrides` maps an exact path to its policy (only /docs needs one)."""

    def __init__(self, app: ASGIApp, csp_overrides: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.csp_overrides = dict(csp_overrides or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = self.csp_overrides.get(path, CSP)
        cache = API_CACHE if path.startswith("/api/") or path == "/healthz" else PAGE_CACHE
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                for name, value in ALWAYS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = cache
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
