"""Is this reply the answer to the frame we just sent? Pure: the sent frame and the reply in, a verdict out.

DC-09 makes the receiver echo the message it acknowledges, so an ACK (or RSP) is taken only when
- it is encrypted exactly when our message was (a plaintext ACK to an AES message is a forgery:
  anyone on the path can write one);
- it carries our account, compared as receivers write it (hex, case and leading zeros aside);
- it echoes our receiver and line numbers (leading zeros aside; a missing R/L is taken only when we
  sent none);
- it has the sequence number of the frame in flight;
- its timestamp is inside the window around our clock (required when encrypted, since the
  timestamp is what makes an encrypted ACK unique; checked whenever present);
- it is not a byte-for-byte copy of an ACK we already took (a replay).
A NAK or DUH never marks anything delivered; it is taken with our sequence or the bare reply's 0000.
Every other reply is a `Rejected` reason, counted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edge.relay.dc09.frame import Frame

# The DC-09 receiver window for message timestamps is 20 s behind to 40 s ahead (section 5.5.1.9);
# a reply is judged against our receiver-corrected clock with the wider side both ways.
REPLY_WINDOW_S = 40.0
ACK_KINDS = ("ACK", "RSP")


@dataclass(frozen=True, slots=True)
class Sent:
    """What the frame in flight said, as the reply must echo it."""

    sequence: int
    account: str
    receiver: str | None
    line: str | None
    encrypted: bool
    at: datetime  # our (receiver-corrected) clock when it was sent


def _hex(value: str | None) -> str | None:
    """A hex field as receivers may write it: upper or lower case, with or without leading zeros."""
    if value is None:
        return None
    return value.upper().lstrip("0") or "0"


def check(reply: Frame, sent: Sent) -> str | None:
    """None when `reply` answers `sent`; else the reason it does not (a counter label)."""
    if reply.kind not in ACK_KINDS:
        return None if reply.sequence in (0, sent.sequence) else "wrong_sequence"
    if sent.encrypted and not reply.encrypted:
        return "plaintext_reply"
    if reply.sequence != sent.sequence:
        return "wrong_sequence"
    if reply.account is None:
        return "no_account"
    if _hex(reply.account) != _hex(sent.account):
        return "wrong_account"
    if sent.receiver is not None and _hex(reply.receiver) != _hex(sent.receiver):
        return "wrong_receiver"
    if sent.receiver is None and _hex(reply.receiver) not in (None, "0"):
        return "wrong_receiver"
    if sent.line is not None and _hex(reply.line) != _hex(sent.line):
        return "wrong_line"
    if reply.timestamp is None:
        return "no_timestamp" if sent.encrypted else None
    if abs((reply.timestamp - sent.at).total_seconds()) > REPLY_WINDOW_S:
        return "stale_timestamp"
    return None
