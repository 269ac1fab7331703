"""Fuzzing the DC-09 ACK check: a reply is taken exactly when it answers the frame in flight.

Hypothesis builds ACKs as receivers (and forgers) write them: encrypted or not, the pad in front
(DC-09's `pad|`, pysiaalarm's zero fill) or PKCS#7 after the timestamp, our sequence or another,
the account with leading zeros changed or someone else's or none, receiver and line echoed or not,
a timestamp inside the window, outside it, or missing. Each goes through the channel's own framing
and `Dc09Channel.judge`. The rule (README, "Police alarm relay"): taken iff it is encrypted exactly
when our message was, has our sequence, our account (hex, leading zeros aside), our receiver and
line, and a timestamp within 40 s (required when encrypted); and every reply not taken moves
`edge_relay_replies_rejected_total` by exactly one.

Before the fix (commit 9769e6f) a plaintext, account-less or 30-day-old ACK with our sequence was
taken, an account written with other leading zeros was not, and PKCS#7 padding raised "not printable".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from edge.relay.dc09.channel import Clock, Dc09Channel, Dc09Error, Receiver
from edge.relay.dc09.crc import crc_hex
from edge.relay.dc09.frame import Frame, format_ts
from edge.relay.dc09.stream import ReplySplitter
from edge.relay.dc09.verify import REPLY_WINDOW_S, Sent

KEY = bytes(range(16))
SEQ = 7
WINDOW_OFFSETS = [-30 * 86400, -600, -60, -30, -5, 0, 5, 30, 60, 600]  # seconds; +-30 inside, +-60 outside


@dataclass(frozen=True)
class Ack:
    encrypted: bool
    pad: str  # "dc09" (pad| in front), "zeros" (pysiaalarm's fill in front), "pkcs7" (after the timestamp)
    sequence: int
    account: str | None
    receiver: str | None
    line: str | None
    offset_s: int | None  # timestamp relative to our send; None: no timestamp


def _hexeq(a: str | None, b: str | None) -> bool:
    def norm(v: str | None) -> str | None:
        return None if v is None else (v.upper().lstrip("0") or "0")

    return norm(a) == norm(b)


def _wire(ack: Ack, at: datetime) -> bytes:
    ts = format_ts(at + timedelta(seconds=ack.offset_s)) if ack.offset_s is not None else ""
    prefix = (f"R{ack.receiver}" if ack.receiver else "") + (f"L{ack.line}" if ack.line else "")
    acct = f"#{ack.account}" if ack.account else ""
    if ack.encrypted:
        plain = ("|]" if ack.pad == "dc09" else "]").encode("ascii") + ts.encode("ascii")
        n = 16 - len(plain) % 16  # 1..16 bytes of pad
        if ack.pad == "pkcs7":
            plain += bytes([n]) * n
        else:
            plain = (b"0" if ack.pad == "zeros" else b"Q") * n + plain
        enc = Cipher(algorithms.AES(KEY), modes.CBC(bytes(16))).encryptor()
        text = f'"*ACK"{ack.sequence:04d}{prefix}{acct}[{(enc.update(plain) + enc.finalize()).hex().upper()}'
    else:
        text = f'"ACK"{ack.sequence:04d}{prefix}{acct}[]{ts}'
    raw = text.encode("ascii")
    return b"\n" + crc_hex(raw).encode() + f"{len(raw):04X}".encode() + raw + b"\r"


def _rejected() -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        for s in metric.samples:
            if s.name == "edge_relay_replies_rejected_total":
                total += s.value
    return total


def _account_variants(ours: str) -> st.SearchStrategy[str | None]:
    stripped = ours.lstrip("0")
    forms = [ours, ours.lower(), "00" + ours, "FFF0", None]
    if len(stripped) >= 3 and stripped != ours:
        forms.append(stripped)
    return st.sampled_from(forms)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Sent, Ack]:
    encrypted_sent = draw(st.booleans())
    account = draw(st.sampled_from(["12AB", "0012AB", "1234"]))
    sent = Sent(SEQ, account, "2", "3", encrypted_sent, Clock().now())
    ack = Ack(
        encrypted=draw(st.booleans()),
        pad=draw(st.sampled_from(["dc09", "zeros", "pkcs7"])),
        sequence=draw(st.sampled_from([SEQ, SEQ + 1, 0, 9999])),
        account=draw(_account_variants(account)),
        receiver=draw(st.sampled_from(["2", "02", "9", None])),
        line=draw(st.sampled_from(["3", "003", "7", None])),
        offset_s=draw(st.one_of(st.none(), st.sampled_from(WINDOW_OFFSETS))),
    )
    return sent, ack


def _expected(sent: Sent, ack: Ack) -> bool:
    if ack.encrypted != sent.encrypted or ack.sequence != sent.sequence:
        return False
    if ack.account is None or not _hexeq(ack.account, sent.account):
        return False
    if not _hexeq(ack.receiver, sent.receiver) or not _hexeq(ack.line, sent.line):
        return False
    if ack.offset_s is None:
        return not sent.encrypted
    return abs(ack.offset_s) <= REPLY_WINDOW_S


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_an_ack_is_taken_exactly_when_it_answers_our_frame(case: tuple[Sent, Ack]) -> None:
    sent, ack = case
    ch = Dc09Channel(
        Receiver.parse("dc09://127.0.0.1:9"),
        account=sent.account,
        key=KEY if sent.encrypted else None,
        clock=Clock(),
        connect_timeout=0.1,
        ack_timeout=0.1,
    )
    frames = ReplySplitter().feed(_wire(ack, sent.at))
    assert len(frames) == 1
    before = _rejected()
    try:
        reply: Frame | None = ch.judge(frames[0], sent)
    except Dc09Error:
        reply = None
    want = _expected(sent, ack)
    assert (reply is not None) == want, (ack, sent)
    assert _rejected() - before == (0 if want else 1), "every reply not taken is counted once"
    if reply is not None:
        assert reply.sequence == SEQ and reply.kind == "ACK"
        # The same bytes again are a replay: refused and counted.
        before = _rejected()
        assert ch.judge(frames[0], sent) is None
        assert _rejected() - before == 1
