"""HTTP Basic and Digest (RFC 7616, MD5, qop=auth) checking for the simulated cameras' video server."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Final

REALM: Final = "edge-sim-camera"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class HttpAuth:
    """Checks an Authorization header against one username/password, in the scheme the camera uses."""

    def __init__(self, username: str, password: str, scheme: str = "digest") -> None:
        if scheme not in ("basic", "digest"):
            raise ValueError("scheme must be basic or digest")
        self.username = username
        self._password = password
        self.scheme = scheme
        self._nonces: set[str] = set()

    def challenge(self) -> str:
        """The WWW-Authenticate header value for a 401."""
        if self.scheme == "basic":
            return f'Basic realm="{REALM}"'
        nonce = secrets.token_hex(16)
        self._nonces.add(nonce)
        if len(self._nonces) > 4096:  # a long benchmark must not grow this without end
            self._nonces.pop()
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def check(self, method: str, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, rest = header.partition(" ")
        if self.scheme == "basic":
            return scheme.lower() == "basic" and self._check_basic(rest.strip())
        return scheme.lower() == "digest" and self._check_digest(method, rest)

    def _check_basic(self, token: str) -> bool:
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.username) and hmac.compare_digest(password, self._password)

    def _check_digest(self, method: str, rest: str) -> bool:
        p = {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(rest)}
        needed = ("username", "realm", "nonce", "uri", "response")
        if any(k not in p for k in needed) or p["nonce"] not in self._nonces or p["username"] != self.username:
            return False
        ha1 = _md5(f"{self.username}:{p['realm']}:{self._password}")
        ha2 = _md5(f"{method}:{p['uri']}")
        if p.get("qop"):
            expected = _md5(f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return hmac.compare_digest(expected, p["response"])
