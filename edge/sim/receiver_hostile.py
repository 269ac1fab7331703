"""What a hostile path or a badly written receiver answers: the demo receiver's test modes.

Each mode takes a frame the receiver decoded and returns the bytes it answers with, without taking
the report (the police never saw it): a sender that counts any of these as delivered loses the alarm.
- ``plaintext_ack``: a plaintext ACK to an encrypted frame (anyone on the path can write one);
- ``no_account``: an ACK without the account;
- ``stale_ack``: an ACK stamped 30 days ago;
- ``wrong_sequence``: an ACK for the next sequence number;
- ``nak``: a NAK with the receiver's (correct) time, to every report;
- ``nulls_only``: NULLs are acknowledged, reports get silence.
Modes that do take the report but answer oddly live in `DemoReceiver` itself (``pkcs7``,
``unsolicited``, ``replay``, ``unreadable``: an ACK whose encrypted block decrypts to noise, and
``account_zeros``: the account written with its leading zeros added or dropped).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from edge.relay.dc09.crc import crc_hex
from edge.relay.dc09.frame import Frame, encode, format_ts

FORGING = frozenset({"plaintext_ack", "no_account", "stale_ack", "wrong_sequence", "nak", "nulls_only"})
MODES = FORGING | {"normal", "pkcs7", "unsolicited", "replay", "unreadable", "account_zeros"}
STALE = timedelta(days=30)


def ack_for(frame: Frame, now: datetime, **changes: object) -> Frame:
    fields: dict[str, object] = {
        "kind": "ACK",
        "sequence": frame.sequence,
        "account": frame.account,
        "receiver": frame.receiver,
        "line": frame.line,
        "timestamp": now,
    }
    fields.update(changes)
    return Frame(**fields)  # type: ignore[arg-type]


def forged(mode: str, frame: Frame, key: bytes | None, now: datetime) -> bytes | None:
    """The answer of a forging mode; None means silence."""
    enc = key if frame.encrypted else None
    if mode == "plaintext_ack":
        return encode(ack_for(frame, now))
    if mode == "no_account":
        return encode(ack_for(frame, now, account=None), enc)
    if mode == "stale_ack":
        return encode(ack_for(frame, now - STALE), enc)
    if mode == "wrong_sequence":
        return encode(ack_for(frame, now, sequence=frame.sequence % 9999 + 1), enc)
    if mode == "nak":
        return encode(Frame(kind="NAK", sequence=0, account=None, receiver="0", line="0", timestamp=now))
    if mode == "nulls_only":
        return encode(ack_for(frame, now), enc) if frame.kind == "NULL" else None
    raise ValueError(f"not a forging mode: {mode!r}")


def pkcs7_ack(frame: Frame, key: bytes, now: datetime) -> bytes:
    """An encrypted ACK the way receivers built on a generic AES helper write it: no pad in front,
    ``]`` + timestamp, then a PKCS#7 pad to the block."""
    plain = ("]" + format_ts(now)).encode("ascii")
    n = 16 - len(plain) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    hex_body = (enc.update(plain + bytes([n]) * n) + enc.finalize()).hex().upper()
    prefix = (f"R{frame.receiver}" if frame.receiver else "") + (f"L{frame.line}" if frame.line else "")
    text = f'"*ACK"{frame.sequence:04d}{prefix}#{frame.account}[{hex_body}'.encode("ascii")
    return b"\n" + crc_hex(text).encode() + f"{len(text):04X}".encode() + text + b"\r"


def unreadable_ack(frame: Frame, now: datetime) -> bytes:
    """An ACK whose encrypted block is whole AES blocks of hex that decrypt to noise under any key we hold."""
    prefix = (f"R{frame.receiver}" if frame.receiver else "") + (f"L{frame.line}" if frame.line else "")
    noise = hashlib.sha256(format_ts(now).encode()).hexdigest().upper()  # 32 bytes: two blocks
    text = f'"*ACK"{frame.sequence:04d}{prefix}#{frame.account}[{noise}'.encode("ascii")
    return b"\n" + crc_hex(text).encode() + f"{len(text):04X}".encode() + text + b"\r"


def other_zeros(account: str | None) -> str | None:
    """The same account as some receivers write it: leading zeros dropped if it has any, else two added."""
    if account is None:
        return None
    stripped = account.lstrip("0")
    return stripped if stripped != account and len(stripped) >= 3 else "00" + account
