"""Messages between the alarm core and the camera worker: one JSON object per line, each with `v`.

Worker -> core: `hello`, `heartbeat`, `event` (a driver Event), `snapshot` (a thumbnail JPEG) and
`reply` (the answer to a snapshot request). Core -> worker: `snapshot_request`. The GB/T 28181
RecordInfo pair: `recordings_request` (core -> worker: what the camera's recorder holds in a time
range) and its `recordings_reply`. The pre-alarm clip pair: `clip_request` (core -> worker: the
recorder's video of a camera between two times) and its `clip_reply` (MP4). A line longer than
MAX_LINE, not JSON, of another version or of an unknown type is a ProtocolError: the core counts it
and replaces the worker, because a peer that speaks garbage once cannot be trusted to frame the
next line.
Stdlib only: the core imports this module, and must not pull in the worker's libraries.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Final

from edge.events import Event, EventKind

VERSION: Final = 1
# A thumbnail is ~30 kB; a full snapshot at most MAX_SNAPSHOT_BYTES (8 MiB), 4/3 bigger in base64.
MAX_LINE: Final = 12 * 1024 * 1024


class ProtocolError(ValueError):
    """A line that is not a valid message of this version."""


@dataclass(frozen=True, slots=True)
class Hello:
    pid: int
    cameras: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Grab:
    """A frame grab running in the worker: `age_s` since it got its decode slot, against `deadline_s`."""

    camera: str
    age_s: float
    deadline_s: float


@dataclass(frozen=True, slots=True)
class Heartbeat:
    seq: int
    grabs: tuple[Grab, ...] = ()


@dataclass(frozen=True, slots=True)
class EventMsg:
    event: Event


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A camera thumbnail for operators, stored by the core as the camera's latest picture."""

    device_id: str
    jpeg: bytes
    ts_ms: int


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    req: int
    device_id: str
    deadline_s: float


@dataclass(frozen=True, slots=True)
class Reply:
    req: int
    device_id: str
    jpeg: bytes | None = None
    error: str = ""
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class RecordSpan:
    """Recorded video of a camera, epoch seconds, in recording `recording` of its recorder."""

    start_s: float
    end_s: float
    recording: str


@dataclass(frozen=True, slots=True)
class RecordingsRequest:
    req: int
    device_id: str
    start_s: float
    end_s: float
    deadline_s: float


@dataclass(frozen=True, slots=True)
class RecordingsReply:
    """`error` is empty on success; `recorder` names the device that was searched."""

    req: int
    device_id: str
    spans: tuple[RecordSpan, ...] = ()
    recorder: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class StreamUriRequest:
    """The RTSP URI the worker learnt from the camera (ONVIF GetStreamUri), for a live-view relay."""

    req: int
    device_id: str
    deadline_s: float


@dataclass(frozen=True, slots=True)
class StreamUriReply:
    """`uri` as the camera reported it (credentials are the core's to add); `error` when there is none."""

    req: int
    device_id: str
    uri: str = ""
    error: str = ""


# A RecordInfo answer lists at most this many spans; a recorder with more is cut, oldest first kept.
MAX_SPANS: Final = 2000

# --- the pre-alarm clip (ONVIF replay from the camera's recorder) ---------------------------------
# A clip is at most this big: 12 s of a 4 Mbit/s main stream is 6 MB; base64 of 8 MiB fits MAX_LINE.
MAX_CLIP_BYTES: Final = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ClipRequest:
    """Core -> worker: the recording of `camera` from `start_ms` to `end_ms` (Unix ms), within `deadline_s`."""

    req: int
    camera: str
    start_ms: int
    end_ms: int
    deadline_s: float


@dataclass(frozen=True, slots=True)
class ClipReply:
    """Worker -> core: the MP4, or `error` (a short kind: deadline, too_large, no_replay_service, ...)."""

    req: int
    camera: str
    mp4: bytes | None = None
    error: str = ""
    start_ms: int = 0  # the first and last picture actually in the clip
    end_ms: int = 0


def _encode_clip(msg: ClipRequest | ClipReply) -> dict[str, Any]:
    if isinstance(msg, ClipRequest):
        return {"type": "clip_request", "req": msg.req, "camera": msg.camera, "start_ms": msg.start_ms,
                "end_ms": msg.end_ms, "deadline_s": msg.deadline_s}  # fmt: skip
    mp4 = None if msg.mp4 is None else _b64(msg.mp4)
    return {"type": "clip_reply", "req": msg.req, "camera": msg.camera, "mp4": mp4, "error": msg.error,
            "start_ms": msg.start_ms, "end_ms": msg.end_ms}  # fmt: skip


def _decode_clip(kind: str, d: dict[str, Any]) -> ClipRequest | ClipReply:
    if kind == "clip_request":
        return ClipRequest(_int(d, "req"), _str(d, "camera"), _int(d, "start_ms"), _int(d, "end_ms"),
                           _num(d, "deadline_s"))  # fmt: skip
    mp4 = None if d.get("mp4") is None else _bytes(d, "mp4")
    if mp4 is not None and len(mp4) > MAX_CLIP_BYTES:
        raise ProtocolError(f"clip of {len(mp4)} bytes exceeds {MAX_CLIP_BYTES}")
    return ClipReply(_int(d, "req"), _str(d, "camera"), mp4, _str(d, "error"), _int(d, "start_ms"), _int(d, "end_ms"))


Message = (
    Hello
    | Heartbeat
    | EventMsg
    | Snapshot
    | SnapshotRequest
    | Reply
    | RecordingsRequest
    | RecordingsReply
    | ClipRequest
    | ClipReply
    | StreamUriRequest
    | StreamUriReply
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode(msg: Message) -> bytes:
    """One line, newline included."""
    body: dict[str, Any]
    match msg:
        case Hello():
            body = {"type": "hello", "pid": msg.pid, "cameras": list(msg.cameras)}
        case Heartbeat():
            grabs = [{"camera": g.camera, "age_s": round(g.age_s, 3), "deadline_s": g.deadline_s} for g in msg.grabs]
            body = {"type": "heartbeat", "seq": msg.seq, "grabs": grabs}
        case EventMsg():
            e = msg.event
            body = {"type": "event", "kind": str(e.kind), "device_id": e.device_id, "payload": e.payload}
            body |= {"ts_ms": e.ts_ms, "id": e.id}
        case Snapshot():
            body = {"type": "snapshot", "device_id": msg.device_id, "jpeg": _b64(msg.jpeg), "ts_ms": msg.ts_ms}
        case SnapshotRequest():
            body = {"type": "snapshot_request", "req": msg.req, "device_id": msg.device_id}
            body["deadline_s"] = msg.deadline_s
        case Reply():
            body = {"type": "reply", "req": msg.req, "device_id": msg.device_id, "error": msg.error}
            body |= {"jpeg": None if msg.jpeg is None else _b64(msg.jpeg), "ts_ms": msg.ts_ms}
        case RecordingsRequest():
            body = {"type": "recordings_request", "req": msg.req, "device_id": msg.device_id}
            body |= {"start_s": msg.start_s, "end_s": msg.end_s, "deadline_s": msg.deadline_s}
        case RecordingsReply():
            spans = [[s.start_s, s.end_s, s.recording] for s in msg.spans[:MAX_SPANS]]
            body = {"type": "recordings_reply", "req": msg.req, "device_id": msg.device_id, "spans": spans}
            body |= {"recorder": msg.recorder, "error": msg.error}
        case StreamUriRequest():
            body = {"type": "stream_uri_request", "req": msg.req, "device_id": msg.device_id}
            body["deadline_s"] = msg.deadline_s
        case StreamUriReply():
            body = {"type": "stream_uri_reply", "req": msg.req, "device_id": msg.device_id}
            body |= {"uri": msg.uri, "error": msg.error}
        case ClipRequest() | ClipReply():
            body = _encode_clip(msg)
    line = json.dumps({"v": VERSION, **body}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    if len(line) > MAX_LINE:
        raise ProtocolError(f"{body['type']} message of {len(line)} bytes exceeds {MAX_LINE}")
    return line


def _str(d: dict[str, Any], key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise ProtocolError(f"{key}: expected a string")
    return v


def _int(d: dict[str, Any], key: str) -> int:
    v = d.get(key)
    if not isinstance(v, int) or isinstance(v, bool):
        raise ProtocolError(f"{key}: expected an integer")
    return v


def _num(d: dict[str, Any], key: str) -> float:
    v = d.get(key)
    if not isinstance(v, int | float) or isinstance(v, bool):
        raise ProtocolError(f"{key}: expected a number")
    return float(v)


def _bytes(d: dict[str, Any], key: str) -> bytes:
    try:
        return base64.b64decode(_str(d, key), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"{key}: not base64") from exc


def decode(line: bytes) -> Message:
    if len(line) > MAX_LINE:
        raise ProtocolError(f"line of {len(line)} bytes exceeds {MAX_LINE}")
    try:
        d = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(d, dict):
        raise ProtocolError("not an object")
    if d.get("v") != VERSION:
        raise ProtocolError(f"version {d.get('v')!r}, this side speaks {VERSION}")
    kind = d.get("type")
    match kind:
        case "hello":
            cams = d.get("cameras")
            if not isinstance(cams, list) or not all(isinstance(c, str) for c in cams):
                raise ProtocolError("cameras: expected a list of strings")
            return Hello(_int(d, "pid"), tuple(cams))
        case "heartbeat":
            raw = d.get("grabs")
            if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
                raise ProtocolError("grabs: expected a list of objects")
            grabs = tuple(Grab(_str(g, "camera"), _num(g, "age_s"), _num(g, "deadline_s")) for g in raw)
            return Heartbeat(_int(d, "seq"), grabs)
        case "event":
            try:
                ek = EventKind(_str(d, "kind"))
            except ValueError:
                raise ProtocolError(f"unknown event kind {d.get('kind')!r}") from None
            payload = d.get("payload")
            if not isinstance(payload, dict):
                raise ProtocolError("payload: expected an object")
            ev = Event(ek, _str(d, "device_id"), payload, ts_ms=_int(d, "ts_ms"), id=_str(d, "id"))
            return EventMsg(ev)
        case "snapshot":
            return Snapshot(_str(d, "device_id"), _bytes(d, "jpeg"), _int(d, "ts_ms"))
        case "snapshot_request":
            return SnapshotRequest(_int(d, "req"), _str(d, "device_id"), _num(d, "deadline_s"))
        case "reply":
            jpeg = None if d.get("jpeg") is None else _bytes(d, "jpeg")
            return Reply(_int(d, "req"), _str(d, "device_id"), jpeg, _str(d, "error"), _int(d, "ts_ms"))
        case "recordings_request":
            start, end = _num(d, "start_s"), _num(d, "end_s")
            return RecordingsRequest(_int(d, "req"), _str(d, "device_id"), start, end, _num(d, "deadline_s"))
        case "recordings_reply":
            return RecordingsReply(
                _int(d, "req"), _str(d, "device_id"), _spans(d), _str(d, "recorder"), _str(d, "error")
            )
        case "clip_request" | "clip_reply":
            return _decode_clip(kind, d)
        case "stream_uri_request":
            return StreamUriRequest(_int(d, "req"), _str(d, "device_id"), _num(d, "deadline_s"))
        case "stream_uri_reply":
            return StreamUriReply(_int(d, "req"), _str(d, "device_id"), _str(d, "uri"), _str(d, "error"))
    raise ProtocolError(f"unknown message type {kind!r}")


def _spans(d: dict[str, Any]) -> tuple[RecordSpan, ...]:
    raw = d.get("spans")
    if not isinstance(raw, list) or len(raw) > MAX_SPANS:
        raise ProtocolError(f"spans: expected a list of at most {MAX_SPANS}")
    out = []
    for item in raw:
        ok = isinstance(item, list) and len(item) == 3 and isinstance(item[2], str)
        if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in item[:2]):
            raise ProtocolError("spans: expected [start_s, end_s, recording] items")
        out.append(RecordSpan(float(item[0]), float(item[1]), item[2]))
    return tuple(out)
