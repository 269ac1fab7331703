"""SOAP 1.2 for ONVIF, pure: request envelopes with a WS-Security UsernameToken, replies to elements or faults.

No WSDL: each operation (edge/onvif/ops.py) writes its few body elements and reads the fields it needs.
Replies are parsed by edge/onvif/xmlsafe.py (no DTD, no entities, bounded depth and size).
"""

from __future__ import annotations

import base64
import hashlib
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Final
from xml.sax.saxutils import escape

from edge.onvif.xmlsafe import XmlRejected, parse

ENV12: Final = "http://www.w3.org/2003/05/soap-envelope"
ENV11: Final = "http://schemas.xmlsoap.org/soap/envelope/"  # older firmwares answer SOAP 1.1
WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
DIGEST_TYPE: Final = f"{_PROFILE}#PasswordDigest"
BASE64_TYPE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
TT: Final = "http://www.onvif.org/ver10/schema"
# WS-Security nonce length: 16 random bytes, as most ONVIF clients and camera SDKs send.
NONCE_BYTES: Final = 16


class Malformed(ValueError):
    """A reply that is not the SOAP answer asked for (garbage, wrong root, wrong namespace, missing field)."""


class SoapFault(Exception):
    """A SOAP Fault from the device: code, subcodes (local names) and reason text."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(code, subcodes, reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason

    def __str__(self) -> str:
        return self.reason or self.code

    @property
    def not_authorized(self) -> bool:
        text = f"{self.code} {' '.join(self.subcodes)} {self.reason}".lower()
        return "notauthorized" in text or "not authorized" in text or "unauthorized" in text


def created_now(offset_s: float = 0.0) -> str:
    """WS-Security Created in the device's clock (our UTC plus its measured drift), whole seconds."""
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """UsernameToken Profile 1.0: Base64(SHA-1(nonce + created + password))."""
    raw = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 - mandated by the spec
    return base64.b64encode(raw).decode()


def security_header(username: str, password: str, created: str, nonce: bytes | None = None) -> str:
    n = os.urandom(NONCE_BYTES) if nonce is None else nonce
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" s:mustUnderstand="1"><wsse:UsernameToken>'
        f"<wsse:Username>{escape(username)}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST_TYPE}">{password_digest(n, created, password)}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{BASE64_TYPE}">{base64.b64encode(n).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def envelope(namespace: str, body: str, header: str = "") -> bytes:
    """`body` is the operation element in the `m:` prefix (bound to `namespace`); `tt:` is the schema."""
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{ENV12}" xmlns:m="{namespace}" '
        f'xmlns:tt="{TT}">{head}<s:Body>{body}</s:Body></s:Envelope>'
    ).encode()


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fault(el: ET.Element) -> SoapFault:
    """SOAP 1.2 Code/Subcode*/Reason, or SOAP 1.1 faultcode/faultstring; prefixes dropped from values."""
    if el.tag == f"{{{ENV12}}}Fault":
        code_el = el.find(f"{{{ENV12}}}Code")
        code = (code_el.findtext(f"{{{ENV12}}}Value") or "") if code_el is not None else ""
        subs: list[str] = []
        sub = code_el.find(f"{{{ENV12}}}Subcode") if code_el is not None else None
        while sub is not None and len(subs) < 8:
            subs.append((sub.findtext(f"{{{ENV12}}}Value") or "").strip().rsplit(":", 1)[-1])
            sub = sub.find(f"{{{ENV12}}}Subcode")
        reason = el.findtext(f"{{{ENV12}}}Reason/{{{ENV12}}}Text") or ""
    else:
        code = el.findtext("faultcode") or ""
        subs = []
        reason = el.findtext("faultstring") or ""
    return SoapFault(code.strip().rsplit(":", 1)[-1], tuple(subs), reason.strip()[:200])


def reply(data: bytes, namespace: str, op: str) -> ET.Element:
    """The `{namespace}{op}Response` element of a reply; SoapFault for a fault; Malformed for anything else."""
    try:
        root = parse(data)
    except XmlRejected as exc:
        raise Malformed(f"xml {exc}") from None
    if root.tag not in (f"{{{ENV12}}}Envelope", f"{{{ENV11}}}Envelope"):
        raise Malformed(f"root is {local(root.tag)[:40]!r}, not a SOAP Envelope")
    ns_env = root.tag[1:].split("}", 1)[0]
    body = root.find(f"{{{ns_env}}}Body")
    if body is None or len(body) == 0:
        raise Malformed("empty SOAP Body")
    first = body[0]
    if local(first.tag) == "Fault" and first.tag.startswith(f"{{{ns_env}}}"):
        raise _fault(first)
    want = f"{{{namespace}}}{op}Response"
    if first.tag != want:
        raise Malformed(f"got {first.tag[:120]!r}, want {want!r}")
    return first


def fault_in(data: bytes) -> SoapFault | None:
    """The fault in a non-200 reply, if it carries one (cameras send NotAuthorized with HTTP 400 or 401)."""
    try:
        root = parse(data)
    except XmlRejected:
        return None
    for el in root.iter():
        if local(el.tag) == "Fault" and el.tag.startswith((f"{{{ENV12}}}", f"{{{ENV11}}}")):
            return _fault(el)
    return None


# Field access for the typed operations: the namespace of inner elements varies between firmwares
# (tt: or the service's own), so fields are found by local name below an element of known place.


def child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if local(c.tag) == name), None)


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local(c.tag) == name]


def need(el: ET.Element, *path: str) -> ET.Element:
    """The element at `path` (local names, one per level), or Malformed naming what is missing."""
    cur = el
    for name in path:
        nxt = child(cur, name)
        if nxt is None:
            raise Malformed(f"no {'/'.join(path)}")
        cur = nxt
    return cur


def text(el: ET.Element, *path: str) -> str:
    """Stripped text at `path` ("" when the element is empty); Malformed when it is missing."""
    return (need(el, *path).text or "").strip()


def opt_text(el: ET.Element, *path: str) -> str | None:
    try:
        return text(el, *path)
    except Malformed:
        return None


def xs_datetime(value: str) -> float:
    """An xs:dateTime (`2026-01-02T03:04:05Z`, fractions and offsets allowed) as epoch seconds."""
    v = value.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise Malformed(f"not an xs:dateTime: {value[:40]!r}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
