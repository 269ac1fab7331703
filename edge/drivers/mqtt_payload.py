"""Pure parsing of MQTT button topics and payloads: bytes in, a message or a typed rejection out.

The per-button `PayloadMapping` lets a vendor's own field names, nested fields ("data.event"),
value words ({"1": "press"}) or plain-text payloads be read without code changes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal, cast

from edge.config.devices import PayloadMapping

MessageType = Literal["press", "release", "tamper", "heartbeat"]
TYPES: frozenset[str] = frozenset(("press", "release", "tamper", "heartbeat"))
Channel = Literal["event", "status"]

# A button event is well under 200 bytes; anything near this is not from a button.
MAX_PAYLOAD = 4096
# ts and seq beyond these cannot be real (year ~287,000 in ms; 63-bit counter) and would not fit SQLite ints.
MAX_TS_MS = 2**53
MAX_SEQ = 2**63 - 1
DEFAULT_MAPPING = PayloadMapping()


@dataclass(frozen=True, slots=True)
class ButtonMessage:
    type: MessageType
    ts_ms: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # counter label: too_large, not_utf8, not_json, not_object, missing_type, unknown_type, bad_ts, ...
    detail: str = ""


def parse_topic(topic: str, prefix: str) -> tuple[str, Channel] | None:
    """`<prefix>/buttons/<id>/(event|status)` -> (id, channel); None for any other topic."""
    head = f"{prefix.rstrip('/')}/buttons/"
    if not topic.startswith(head):
        return None
    rest = topic[len(head) :].split("/")
    if len(rest) != 2 or not rest[0] or rest[1] not in ("event", "status"):
        return None
    return rest[0], cast(Channel, rest[1])


def _text(payload: bytes) -> str | Rejected:
    if len(payload) > MAX_PAYLOAD:
        return Rejected("too_large", f"{len(payload)} bytes")
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Rejected("not_utf8")


def parse_status(payload: bytes) -> Literal["online", "offline"] | Rejected:
    text = _text(payload)
    if isinstance(text, Rejected):
        return text
    word = text.lower()
    if word in ("online", "offline"):
        return cast(Literal["online", "offline"], word)
    return Rejected("bad_status", text[:40])


def _lookup(obj: dict[str, Any], path: str) -> Any:
    if path in obj:  # a literal key wins over a dotted path
        return obj[path]
    cur: Any = obj
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def _word(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return None


def _type_of(word: str | None, mapping: PayloadMapping) -> MessageType | Rejected:
    if word is None:
        return Rejected("missing_type")
    if word in mapping.values:
        return mapping.values[word]
    if word in TYPES:
        return cast(MessageType, word)
    return Rejected("unknown_type", word[:40])


def _int_field(value: Any, limit: int, reason: str) -> int | Rejected | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        return Rejected(reason, repr(value)[:40])
    return value


def parse_event(payload: bytes, mapping: PayloadMapping | None = None) -> ButtonMessage | Rejected:
    m = mapping or DEFAULT_MAPPING
    text = _text(payload)
    if isinstance(text, Rejected):
        return text
    if m.format == "text":
        kind = _type_of(text or None, m)
        return kind if isinstance(kind, Rejected) else ButtonMessage(kind)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return Rejected("not_json", text[:40])
    if not isinstance(obj, dict):
        return Rejected("not_object", type(obj).__name__)
    kind = _type_of(_word(_lookup(obj, m.type_field)), m)
    if isinstance(kind, Rejected):
        return kind
    ts = _int_field(_lookup(obj, m.ts_field), MAX_TS_MS, "bad_ts") if m.ts_field else None
    if isinstance(ts, Rejected):
        return ts
    seq = _int_field(_lookup(obj, m.seq_field), MAX_SEQ, "bad_seq") if m.seq_field else None
    if isinstance(seq, Rejected):
        return seq
    return ButtonMessage(kind, ts, seq)
