"""HTTP digest authentication as SIP uses it (RFC 2617 / 3261 22.4): MD5, with qop=auth when offered.

GB/T 28181 registrars challenge a REGISTER with 401 and `WWW-Authenticate: Digest realm=..., nonce=...`,
some with `qop="auth"`. Both sides are here: `authorization` answers a challenge (the device),
`verify` checks an answer (the platform simulator).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

_PARAM = re.compile(r'([A-Za-z\-]+)\s*=\s*(?:"([^"]{0,512})"|([^\s,"]{0,512}))')


class DigestError(ValueError):
    pass


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_params(header: str) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"not a Digest challenge: {scheme[:20]!r}")
    return {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(rest)}


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    qop: str | None  # "auth" when the server offers it
    opaque: str | None
    algorithm: str

    @classmethod
    def parse(cls, header: str) -> Challenge:
        p = parse_params(header)
        if "realm" not in p or "nonce" not in p:
            raise DigestError("challenge without realm or nonce")
        algorithm = p.get("algorithm", "MD5")
        if algorithm.upper() != "MD5":
            raise DigestError(f"unsupported digest algorithm {algorithm[:20]!r}")
        qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
        if qops and "auth" not in qops:
            raise DigestError(f"unsupported qop {p['qop'][:20]!r}")
        return cls(p["realm"], p["nonce"], "auth" if qops else None, p.get("opaque"), algorithm)


def response_hash(
    username: str, password: str, realm: str, method: str, uri: str, nonce: str, qop: str | None, nc: str, cnonce: str
) -> str:
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def authorization(ch: Challenge, username: str, password: str, method: str, uri: str, nc: int = 1) -> str:
    cnonce = secrets.token_hex(8)
    ncs = f"{nc:08x}"
    resp = response_hash(username, password, ch.realm, method, uri, ch.nonce, ch.qop, ncs, cnonce)
    parts = [
        f'username="{username}"',
        f'realm="{ch.realm}"',
        f'nonce="{ch.nonce}"',
        f'uri="{uri}"',
        f'response="{resp}"',
        "algorithm=MD5",
    ]
    if ch.qop:
        parts += [f"qop={ch.qop}", f"nc={ncs}", f'cnonce="{cnonce}"']
    if ch.opaque is not None:
        parts.append(f'opaque="{ch.opaque}"')
    return "Digest " + ", ".join(parts)


def verify(header: str, password: str, method: str, realm: str, nonces: set[str]) -> str | None:
    """The username if `header` is a valid answer to one of our `nonces`, else None."""
    try:
        p = parse_params(header)
    except DigestError:
        return None
    need = ("username", "realm", "nonce", "uri", "response")
    if any(k not in p for k in need) or p["realm"] != realm or p["nonce"] not in nonces:
        return None
    qop = p.get("qop")
    expected = response_hash(
        p["username"], password, realm, method, p["uri"], p["nonce"], qop, p.get("nc", ""), p.get("cnonce", "")
    )
    return p["username"] if secrets.compare_digest(expected, p["response"]) else None
