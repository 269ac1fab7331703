"""The simulator's SOAP parsing and WS-Security digest (pure functions; hypothesis for the parser)."""

from __future__ import annotations

import base64
import contextlib
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from edge.sim.onvif.soap import SoapRequestError, UsernameToken, parse_request, password_digest, verify_token


def test_digest_matches_the_spec_formula() -> None:
    # Base64(SHA-1(nonce + created + password)), checked against an independent computation.
    nonce, created = b"0123456789abcdef", "2026-11-22T10:00:00Z"
    expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"pw").digest()).decode()
    assert password_digest(nonce, created, "pw") == expected


def test_verify_token() -> None:
    nonce, created = b"n" * 16, "2026-11-22T10:00:00Z"
    good = UsernameToken("admin", password_digest(nonce, created, "pw"), True, nonce, created)
    assert verify_token(good, "admin", "pw")
    assert not verify_token(good, "admin", "other")
    assert not verify_token(good, "root", "pw")
    assert not verify_token(None, "admin", "pw")
    assert not verify_token(UsernameToken("admin", good.password, True, b"", created), "admin", "pw")


@given(st.binary(max_size=300))
def test_parser_rejects_garbage_with_a_typed_error(data: bytes) -> None:
    with contextlib.suppress(SoapRequestError):
        parse_request(data)
