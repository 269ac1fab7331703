"""SIP messages (RFC 3261) as GB/T 28181 uses them: parse and build, with bounded sizes.

Parsing never trusts its input: a message over MAX_MESSAGE bytes, with too many headers, a bad
start line or a Content-Length that does not match is a `SipError` with a short reason, which
callers count as bad input and drop.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

MAX_MESSAGE = 64 * 1024  # a Catalog page is a few kB; nothing legitimate comes near this
MAX_HEADERS = 64
MAX_HEADER_LINE = 4096
SIP_VERSION = "SIP/2.0"

# RFC 3261 7.3.3 compact forms.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
}
_REQUEST = re.compile(r"^([A-Z]{3,16}) (\S{1,1024}) SIP/2\.0$")
_STATUS = re.compile(r"^SIP/2\.0 ([1-6]\d\d) ?(.{0,128})$")
_TAG = re.compile(r";\s*tag=([^;\s>]+)")
_BRANCH = re.compile(r";\s*branch=([^;\s]+)")
_CSEQ = re.compile(r"^(\d{1,10})\s+([A-Z]{3,16})$")


class SipError(ValueError):
    """Malformed SIP; `reason` is the counter label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class SipMessage:
    start: str  # "METHOD uri SIP/2.0" or "SIP/2.0 200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    # ---- the start line --------------------------------------------------------------------
    @property
    def is_request(self) -> bool:
        return not self.start.startswith(SIP_VERSION)

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0] if self.is_request else self.cseq[1]

    @property
    def uri(self) -> str:
        return self.start.split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.start.split(" ")[1]) if not self.is_request else 0

    @property
    def reason(self) -> str:
        parts = self.start.split(" ", 2)
        return parts[2] if len(parts) > 2 else ""

    # ---- headers -----------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        want = name.lower()
        for k, v in self.headers:
            if _canonical(k) == want:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        want = name.lower()
        return [v for k, v in self.headers if _canonical(k) == want]

    def set(self, name: str, value: str) -> None:
        want = name.lower()
        self.headers = [(k, v) for k, v in self.headers if _canonical(k) != want] + [(name, value)]

    @property
    def call_id(self) -> str:
        return self.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        m = _CSEQ.match((self.get("cseq") or "").strip())
        if m is None:
            raise SipError("bad_cseq", self.get("cseq") or "missing")
        return int(m[1]), m[2]

    @property
    def branch(self) -> str:
        m = _BRANCH.search(self.get("via") or "")
        return m[1] if m else ""

    @property
    def from_tag(self) -> str:
        m = _TAG.search(self.get("from") or "")
        return m[1] if m else ""

    @property
    def to_tag(self) -> str:
        m = _TAG.search(self.get("to") or "")
        return m[1] if m else ""

    def expires(self, default: int) -> int:
        value = (self.get("expires") or "").strip()
        if value.isdigit():
            return int(value)
        m = re.search(r";\s*expires=(\d+)", self.get("contact") or "")
        return int(m[1]) if m else default

    def to_bytes(self) -> bytes:
        lines = [self.start]
        lines += [f"{k}: {v}" for k, v in self.headers if _canonical(k) != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def _canonical(name: str) -> str:
    low = name.strip().lower()
    return _COMPACT.get(low, low)


def parse(data: bytes) -> SipMessage:
    """One whole message (a UDP datagram, or one framed off a TCP stream)."""
    if len(data) > MAX_MESSAGE:
        raise SipError("too_large", f"{len(data)} bytes")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
        if not sep:
            raise SipError("no_header_end")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipError("bad_encoding", str(exc)) from None
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    if not (_REQUEST.match(start) or _STATUS.match(start)):
        raise SipError("bad_start_line", start[:80])
    if len(lines) - 1 > MAX_HEADERS:
        raise SipError("too_many_headers", str(len(lines) - 1))
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if len(line) > MAX_HEADER_LINE:
            raise SipError("header_too_long")
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            k, v = headers[-1]
            headers[-1] = (k, f"{v} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or not re.fullmatch(r"[A-Za-z0-9!%*_+`'~.\-]+", name.strip()):
            raise SipError("bad_header", line[:80])
        headers.append((name.strip(), value.strip()))
    msg = SipMessage(start, headers, body)
    length = msg.get("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > MAX_MESSAGE:
            raise SipError("bad_content_length", length[:20])
        if int(length) > len(body):
            raise SipError("short_body", f"{len(body)} of {length}")
        msg.body = body[: int(length)]
    for required in ("via", "call-id", "cseq", "from", "to"):
        if msg.get(required) is None:
            raise SipError("missing_header", required)
    msg.cseq  # noqa: B018 - validates the CSeq header
    return msg


class StreamFramer:
    """Cuts SIP messages off a TCP byte stream by Content-Length (RFC 3261 18.3)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            while self._buf[:2] == b"\r\n":  # keep-alive CRLFs between messages
                del self._buf[:2]
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_MESSAGE:
                    raise SipError("too_large", "no header end within the size limit")
                return out
            m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d{1,6})[ \t]*\r?$", bytes(self._buf[:end]))
            length = int(m[1]) if m else 0
            total = end + 4 + length
            if total > MAX_MESSAGE:
                raise SipError("too_large", f"{total} bytes")
            if len(self._buf) < total:
                return out
            out.append(bytes(self._buf[:total]))
            del self._buf[:total]


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


def response(
    req: SipMessage,
    status: int,
    reason: str,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> SipMessage:
    """The response to `req`: its Via, From, Call-ID, CSeq copied; a To tag added when missing."""
    headers = [("Via", v) for v in req.get_all("via")]
    to = req.get("to") or ""
    if not _TAG.search(to) and status > 100:
        to = f"{to};tag={to_tag or new_tag()}"
    headers += [("From", req.get("from") or ""), ("To", to), ("Call-ID", req.call_id), ("CSeq", req.get("cseq") or "")]
    headers += extra or []
    if content_type:
        headers.append(("Content-Type", content_type))
    return SipMessage(f"{SIP_VERSION} {status} {reason}", headers, body)


def uri_user(uri: str) -> str:
    """'<sip:3402...@3402000000>;tag=x' or 'sip:3402...@host' -> '3402...'."""
    m = re.search(r"sips?:([^@;>\s]+)@", uri)
    return m[1] if m else ""
