"""SOAP 1.2 envelope handling for the simulator: request parsing, WS-Security digest check, faults.

Pure functions: bytes in, a parsed request or a typed rejection out. The HTTP layer stays thin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ET  # the simulator only parses requests from loopback test clients
from dataclasses import dataclass
from xml.sax.saxutils import escape

ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"

NAMESPACES = {
    "env": ENV,
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tse": "http://www.onvif.org/ver10/search/wsdl",
    "trp": "http://www.onvif.org/ver10/replay/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
}


class SoapRequestError(ValueError):
    """The request is not a SOAP envelope we can dispatch."""


@dataclass(frozen=True, slots=True)
class UsernameToken:
    username: str
    password: str
    digest: bool
    nonce: bytes
    created: str


@dataclass(frozen=True, slots=True)
class SoapRequest:
    namespace: str
    operation: str
    body: ET.Element
    token: UsernameToken | None

    def text(self, local: str) -> str | None:
        """Text of the first descendant of the operation element with this local name."""
        for el in self.body.iter():
            if el.tag.rsplit("}", 1)[-1] == local:
                return (el.text or "").strip()
        return None


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return "", tag


def parse_request(data: bytes) -> SoapRequest:
    try:
        root = ET.fromstring(data)  # noqa: S314 - loopback test clients only; no entity expansion in stdlib >= 3.7.1
    except ET.ParseError as exc:
        raise SoapRequestError(f"not XML: {exc}") from exc
    if root.tag != f"{{{ENV}}}Envelope":
        raise SoapRequestError("not a SOAP 1.2 envelope")
    body = root.find(f"{{{ENV}}}Body")
    if body is None or len(body) == 0:
        raise SoapRequestError("empty SOAP body")
    op = body[0]
    ns, local = _split(op.tag)
    return SoapRequest(ns, local, op, _token(root))


def _token(root: ET.Element) -> UsernameToken | None:
    tok = root.find(f"{{{ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if tok is None:
        return None
    user = tok.findtext(f"{{{WSSE}}}Username") or ""
    pw = tok.find(f"{{{WSSE}}}Password")
    nonce_text = tok.findtext(f"{{{WSSE}}}Nonce") or ""
    try:
        nonce = base64.b64decode(nonce_text, validate=True)
    except ValueError:
        nonce = b""
    return UsernameToken(
        username=user,
        password=(pw.text or "") if pw is not None else "",
        digest=pw is not None and pw.get("Type", "") == DIGEST_TYPE,
        nonce=nonce,
        created=tok.findtext(f"{{{WSU}}}Created") or "",
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken Profile 1.0: Base64(SHA-1(nonce + created + password))."""
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 - mandated by the spec
    return base64.b64encode(raw).decode()


def verify_token(token: UsernameToken | None, username: str, password: str) -> bool:
    if token is None or not hmac.compare_digest(token.username, username):
        return False
    if token.digest:
        expected = password_digest(token.nonce, token.created, password)
        return bool(token.nonce) and bool(token.created) and hmac.compare_digest(token.password, expected)
    return hmac.compare_digest(token.password, password)


_NS_DECL = " ".join(f'xmlns:{p}="{u}"' for p, u in NAMESPACES.items())


def envelope(body_xml: str) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope {_NS_DECL}>'
    return f"{head}<env:Body>{body_xml}</env:Body></env:Envelope>".encode()


def fault(code: str, subcode: str, reason: str) -> bytes:
    """A SOAP 1.2 fault with an ONVIF ter: subcode, e.g. ("env:Sender", "ter:NotAuthorized", ...)."""
    return envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode><env:Value>{subcode}</env:Value>"
        f'</env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">{escape(reason)}</env:Text></env:Reason>'
        "</env:Fault>"
    )


NOT_AUTHORIZED = fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
ACTION_NOT_SUPPORTED = fault("env:Receiver", "ter:ActionNotSupported", "Optional Action Not Implemented")
