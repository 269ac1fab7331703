"""DC-09 AES-CBC: zero IV, a random pad in front so equal messages never encrypt alike, hex on the wire.

What we send follows ANSI/SIA DC-09-2013 section 5.4.4: the encrypted part of a frame is everything
after ``[``: ``pad`` + ``|`` + ``data]`` + extended data + timestamp. The pad fills the encrypted
part to a multiple of 16 bytes (16 pad bytes when it already is one), its characters exclude ``|``,
``[`` and ``]``, and the ``|`` that ends it appears in every encrypted message, even one without data.

What we accept is wider, because receivers stray: a pad ended by ``]`` instead of ``|``
(pysiaalarm's zero-filled ACK), any pad bytes, and a PKCS#7 pad *after* the timestamp (receivers
built on a generic AES helper). Only the readable body between them must be printable ASCII.

`cryptography` (~8 MB resident: its Rust extension and OpenSSL) is loaded by `load_key` when a receiver
has a key, i.e. at the relay's start-up, never at the first alarm; a site without AES never loads it.
"""

from __future__ import annotations

import secrets
import string
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from edge.config.secrets import read_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

BLOCK = 16  # AES block size in bytes
# DC-09 fixes the IV at zero; the random pad is what makes equal plaintexts differ.
_IV = bytes(BLOCK)
_PAD_ALPHABET = string.ascii_letters + string.digits
_PAD_STOP = "|[]"
KEY_LENGTHS = (16, 24, 32)  # AES-128/192/256


class CryptoError(ValueError):
    """Ciphertext that is not hex, not whole blocks, or not ASCII after decryption."""


def parse_key(text: str) -> bytes:
    """A key file's content: 32, 48 or 64 hex digits."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise CryptoError("AES key must be hex digits") from exc
    if len(key) not in KEY_LENGTHS:
        raise CryptoError("AES key must be 32, 48 or 64 hex digits (AES-128/192/256)")
    return key


def load_key(path: Path | None) -> bytes | None:
    """The key in `path`, or None without one; with a key, AES is loaded now (start-up, not a press)."""
    text = read_secret(path)
    if text is None:
        return None
    key = parse_key(text)
    _cipher(key)
    return key


@lru_cache(maxsize=16)  # a site has a key or two; the bound keeps a fuzzer's keys from piling up
def _cipher(key: bytes) -> Cipher[modes.CBC]:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415 - see module doc

    return Cipher(algorithms.AES(key), modes.CBC(_IV))


def _pad(length: int) -> str:
    return "".join(secrets.choice(_PAD_ALPHABET) for _ in range(length))


def encrypt(key: bytes, body: str, pad: str | None = None) -> str:
    """Upper-case hex of AES-CBC(pad + body); the pad fills to a whole block (1..16 characters).

    `body` starts with the pad terminator ``|`` (the frame encoder writes it)."""
    raw = body.encode("ascii")
    if pad is None:
        pad = _pad(BLOCK - len(raw) % BLOCK)
    if any(c in _PAD_STOP for c in pad):
        raise ValueError("a DC-09 pad must not contain '|', '[' or ']'")
    plain = pad.encode("ascii") + raw
    enc = _cipher(key).encryptor()
    return (enc.update(plain) + enc.finalize()).hex().upper()


def decrypt(key: bytes, hex_text: str) -> str:
    """The body with the pad removed (starts at the first ``|``, ``[`` or ``]``)."""
    try:
        data = bytes.fromhex(hex_text)
    except ValueError as exc:
        raise CryptoError("encrypted block is not hex") from exc
    if not data or len(data) % BLOCK:
        raise CryptoError("encrypted block is not a whole number of AES blocks")
    dec = _cipher(key).decryptor()
    plain = _strip_trailing_pad(dec.update(data) + dec.finalize())
    # Pads from other transmitters may hold any byte; latin-1 keeps them one character each.
    text = plain.decode("latin-1")
    cut = min((i for i in (text.find(c) for c in _PAD_STOP) if i >= 0), default=-1)
    if cut < 0:
        raise CryptoError("no data after the pad (wrong key?)")
    body = text[cut:]
    if not body.isascii() or not body.isprintable():
        raise CryptoError("decrypted data is not printable ASCII (wrong key?)")
    return body


def _strip_trailing_pad(plain: bytes) -> bytes:
    """Drop a PKCS#7 pad after the timestamp, or NUL fill, when the last block ends in one.

    DC-09 puts its pad in front, so a valid DC-09 body ends with the timestamp's last digit (or
    ``]``): a last byte of 1..16 repeated that many times cannot be part of it and is a pad."""
    n = plain[-1] if plain else 0
    if 1 <= n <= BLOCK and len(plain) >= n and plain[-n:] == bytes([n]) * n:
        return plain[:-n]
    return plain.rstrip(b"\x00")
