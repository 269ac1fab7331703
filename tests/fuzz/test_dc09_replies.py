"""Whatever a receiver answers, the DC-09 channel's reply path never crashes and counts every rejection.

The bytes go through the channel's own framing (`ReplySplitter`: LF ... CR or a quoted bare reply) and
verification (`Dc09Channel.judge`), as they would arrive from a socket.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.relay.dc09.channel import Clock, Dc09Channel, Dc09Error, Receiver
from edge.relay.dc09.content import null_frame
from edge.relay.dc09.frame import Frame, encode
from edge.relay.dc09.stream import ReplySplitter
from edge.relay.dc09.verify import Sent
from tests.fuzz.counting import bad_inputs

ACCOUNT = "1234"
SEQ = 7
JUNK_START = st.integers(1, 255).filter(lambda b: b not in b' \x00\n"').map(lambda b: bytes([b]))


def channel(key: bytes | None = None) -> Dc09Channel:
    return Dc09Channel(
        Receiver.parse("dc09://127.0.0.1:9"),
        account=ACCOUNT,
        key=key,
        clock=Clock(),
        connect_timeout=0.1,
        ack_timeout=0.1,
    )


def sent(key: bytes | None = None) -> Sent:
    return Sent(SEQ, ACCOUNT, None, "0", key is not None, Clock().now())


def replies(data: bytes, key: bytes | None = None) -> list[tuple[str, Any, float]]:
    """Run the channel's reply path on `data`: (outcome, value, counter delta) per frame."""
    ch = channel(key)
    out: list[tuple[str, Any, float]] = []
    before = bad_inputs("dc09")
    frames = ReplySplitter().feed(data)
    garbage = bad_inputs("dc09") - before
    for raw in frames:
        before = bad_inputs("dc09")
        try:
            reply = ch.judge(raw, sent(key))
            out.append(("frame" if reply is not None else "ignored", reply, bad_inputs("dc09") - before))
        except Dc09Error as exc:
            out.append(("rejected", exc.reason, bad_inputs("dc09") - before))
    if garbage and not out:
        out.append(("garbage", None, garbage))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_reply_bytes_never_crash_and_every_rejection_counts(data: bytes) -> None:
    for outcome, value, delta in replies(data):
        if outcome == "frame":
            assert isinstance(value, Frame) and delta == 0
        elif outcome != "garbage":  # a reply for another sequence or account, or an unparseable one: counted once
            assert delta == 1, (outcome, value)


@settings(max_examples=200, deadline=None)
@given(JUNK_START, st.binary(max_size=200))
def test_leading_garbage_is_counted(junk: bytes, rest: bytes) -> None:
    before = bad_inputs("dc09")
    replies(junk + rest)
    assert bad_inputs("dc09") > before


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60).filter(lambda b: b"\n" not in b and b'"' not in b))
def test_a_good_ack_after_noise_is_still_found(noise: bytes) -> None:
    ack = encode(Frame("ACK", SEQ, ACCOUNT, line="0", timestamp=Clock().now()))
    got = [v for outcome, v, _ in replies(noise + ack) if outcome == "frame"]
    assert got and got[0].kind == "ACK" and got[0].sequence == SEQ


def test_reply_for_another_sequence_is_ignored_and_counted() -> None:
    other = encode(null_frame(account=ACCOUNT, sequence=SEQ + 1, timestamp=Clock().now(), line="0"))
    other = other.replace(b'"NULL"', b'"ACK"')
    assert [(o, d) for o, _, d in replies(other)] in ([("ignored", 1)], [("rejected", 1)])
