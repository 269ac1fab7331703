"""DC-09 frames: ``LF crc(4) 0LLL "token"seq Rrcvr Lline #acct[data][x...]_HH:MM:SS,MM-DD-YYYY CR``.

`encode` builds a frame; `decode` parses one strictly (our own frames, the property tests);
`parse_reply` parses a receiver's ACK/NAK/DUH leniently where real receivers are known to stray
(pysiaalarm writes ``None`` for a missing R, puts L before R in a NAK, answers an unknown account
with a bare ``"NAK"``). Both return a value or a `Rejection`, never raise on input bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.relay.dc09 import crypto
from edge.relay.dc09.crc import crc_hex

LF, CR = b"\n", b"\r"
MAX_FRAME = 4096  # DC-09 length field is 0LLL: at most 0xFFF characters between length and CR
TS_FORMAT = "%H:%M:%S,%m-%d-%Y"
MESSAGE_TOKENS = frozenset({"ADM-CID", "SIA-DCS", "NULL"})
REPLY_TOKENS = frozenset({"ACK", "NAK", "DUH", "RSP"})

_HEAD = re.compile(
    r'"(?P<enc>\*)?(?P<token>[A-Z-]{3,8})"(?P<seq>[0-9]{4})'
    r"(?P<prefix>[^#\[]*)(?:#(?P<acct>[0-9A-Fa-f]{3,16}))?\[(?P<rest>.*)",
    re.S,
)
_PREFIX_STRICT = re.compile(r"(?:R(?P<r>[0-9A-Fa-f]{1,6}))?(?:L(?P<l>[0-9A-Fa-f]{1,6}))?")
# Reply prefixes seen in the field: "R1L1", "L0R0A0", "NoneL1" (pysiaalarm's missing R).
_PREFIX_PART = re.compile(r"None|([RLA])([0-9A-Fa-f]{1,6}?)(?=[RLA]|None|$)")
_TS = re.compile(r"_(\d{2}:\d{2}:\d{2},\d{2}-\d{2}-\d{4})")


@dataclass(frozen=True, slots=True)
class Frame:
    kind: str  # the DC-09 ID token: ADM-CID, SIA-DCS, NULL, or a reply token
    sequence: int  # 0..9999 (replies to a bare NAK use 0)
    account: str | None  # upper-case hex; the data block's "#acct|" is implied by it
    data: str = ""  # between "[#acct|" and "]", e.g. "1120 01 001"; "" for NULL and ACK
    receiver: str | None = None
    line: str | None = None
    xdata: tuple[str, ...] = ()  # each without brackets, e.g. "X120.1"
    timestamp: datetime | None = None  # UTC, whole seconds
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str  # a short stable label, counted per reason
    detail: str = ""


def format_ts(ts: datetime) -> str:
    return "_" + ts.astimezone(UTC).strftime(TS_FORMAT)


def _tail(frame: Frame) -> str:
    """Everything after the data: ``]`` + extended data + timestamp."""
    ts = format_ts(frame.timestamp) if frame.timestamp else ""
    return "]" + "".join(f"[{x}]" for x in frame.xdata) + ts


def encode(frame: Frame, key: bytes | None = None) -> bytes:
    """The frame on the wire; encrypted when a key is given. Raises ValueError on non-ASCII fields."""
    head = f'"{"*" if key else ""}{frame.kind}"{frame.sequence:04d}'
    head += f"R{frame.receiver}" if frame.receiver else ""
    head += f"L{frame.line}" if frame.line else ""
    head += f"#{frame.account.upper()}[" if frame.account else "["
    if key:
        body = f"|{frame.data}" + _tail(frame)  # DC-09-2013 5.4.4.3: the pad's "|" is in every encrypted frame
        text = head + crypto.encrypt(key, body)
    elif frame.data:
        acct = f"#{frame.account.upper()}|" if frame.account else ""
        text = head + acct + frame.data + _tail(frame)
    else:
        text = head + _tail(frame)
    raw = text.encode("ascii")
    if len(raw) > MAX_FRAME - 1:
        raise ValueError("DC-09 frame longer than the 0LLL length field allows")
    return LF + crc_hex(raw).encode() + f"{len(raw):04X}".encode() + raw + CR


def _unframe(raw: bytes) -> bytes | Rejection:
    body = raw.strip(b"\r\n")
    if len(body) < 9:
        return Rejection("framing", "too short")
    crc, length, text = body[:4], body[4:8], body[8:]
    if not re.fullmatch(rb"[0-9A-Fa-f]{4}", crc) or not re.fullmatch(rb"[0-9A-Fa-f]{4}", length):
        return Rejection("framing", "no CRC/length header")
    if int(length, 16) != len(text):
        return Rejection("length", f"header says {int(length, 16)}, got {len(text)}")
    if crc.upper().decode() != crc_hex(text):
        return Rejection("crc", f"sent {crc.decode()}, computed {crc_hex(text)}")
    return text


_Body = tuple[str, tuple[str, ...], datetime | None]  # data, extended data, timestamp


def _parse_rest(rest: str, encrypted: bool, account: str | None, key: bytes | None) -> _Body | Rejection:
    if encrypted:
        if key is None:
            return Rejection("no_key", "encrypted frame but no key configured")
        try:
            rest = crypto.decrypt(key, rest.rstrip("]"))  # some receivers close the bracket outside
        except crypto.CryptoError as exc:
            return Rejection("decrypt", str(exc))
        if rest.startswith("|"):
            rest = rest[1:]
    elif account and rest.upper().startswith(f"#{account}|"):
        rest = rest[len(account) + 2 :]
    elif rest.startswith("#"):
        return Rejection("account", "data block account differs from the header")
    end = rest.find("]")
    if end < 0 or "[" in rest[:end]:
        return Rejection("data", "data block not closed")
    data, rest = rest[:end], rest[end + 1 :]
    xdata: list[str] = []
    while rest.startswith("["):
        end = rest.find("]")
        if end < 2 or "[" in rest[1:end]:
            return Rejection("xdata", "extended data block malformed")
        xdata.append(rest[1:end])
        rest = rest[end + 1 :]
    ts: datetime | None = None
    if rest:
        m = _TS.fullmatch(rest)
        if not m:
            return Rejection("timestamp", f"trailing {rest[:32]!r}")
        try:
            ts = datetime.strptime(m.group(1), TS_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return Rejection("timestamp", f"impossible date {m.group(1)!r}")
    if not data.isprintable() or not data.isascii():
        return Rejection("data", "non-printable characters")
    return data, tuple(xdata), ts


def _decode(raw: bytes, key: bytes | None, lenient: bool) -> Frame | Rejection:
    text_b = _unframe(raw)
    if isinstance(text_b, Rejection):
        return text_b
    try:
        text = text_b.decode("ascii")
    except UnicodeDecodeError:
        return Rejection("framing", "non-ASCII bytes")
    m = _HEAD.fullmatch(text)
    if not m:
        return Rejection("header", text[:40])
    receiver = line = None
    if lenient:
        parts = list(_PREFIX_PART.finditer(m["prefix"]))
        if "".join(p[0] for p in parts) != m["prefix"]:
            return Rejection("header", f"prefix {m['prefix'][:20]!r}")
        found = {p[1]: p[2] for p in parts if p[1]}
        receiver, line = found.get("R"), found.get("L")
    else:
        pm = _PREFIX_STRICT.fullmatch(m["prefix"])
        if not pm:
            return Rejection("header", f"prefix {m['prefix'][:20]!r}")
        receiver, line = pm["r"], pm["l"]
    account = m["acct"].upper() if m["acct"] else None
    parsed = _parse_rest(m["rest"], bool(m["enc"]), account, key)
    if isinstance(parsed, Rejection):
        return parsed
    return Frame(
        kind=m["token"],
        sequence=int(m["seq"]),
        account=account,
        receiver=receiver.upper() if receiver else None,
        line=line.upper() if line else None,
        encrypted=bool(m["enc"]),
        data=parsed[0],
        xdata=parsed[1],
        timestamp=parsed[2],
    )


def decode(raw: bytes, key: bytes | None = None) -> Frame | Rejection:
    """A message frame (ADM-CID, SIA-DCS, NULL), strictly."""
    frame = _decode(raw, key, lenient=False)
    if isinstance(frame, Frame) and frame.kind not in MESSAGE_TOKENS:
        return Rejection("token", frame.kind)
    return frame


def parse_reply(raw: bytes, key: bytes | None = None) -> Frame | Rejection:
    """A receiver's ACK / NAK / DUH (RSP is treated as ACK by the caller)."""
    if raw.strip(b"\r\n \x00") == b'"NAK"':
        return Frame(kind="NAK", sequence=0, account=None)
    frame = _decode(raw, key, lenient=True)
    if isinstance(frame, Frame) and frame.kind not in REPLY_TOKENS:
        return Rejection("token", frame.kind)
    return frame
