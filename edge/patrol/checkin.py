"""One check-in at a checkpoint, however it arrived (reader, phone, patrol-stick import, API)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.config.patrol import Patrol

MAX_NOTE = 500
MAX_GUARD = 64
MAX_PHOTO_BYTES = 2_000_000
# A reader's clock may be off, but not by years: older or future check-ins are typos or bad clocks.
MAX_PAST_S = 400 * 86_400
MAX_FUTURE_S = 600


class Source(StrEnum):
    MQTT = "mqtt"
    PHONE = "phone"
    IMPORT = "import"
    API = "api"


class CheckinError(ValueError):
    """A check-in that cannot be recorded; the message says why (shown to the guard or technician)."""


@dataclass(frozen=True, slots=True)
class Checkin:
    ts_ms: int
    checkpoint_id: str
    tag: str
    guard: str
    source: Source
    reader: str = ""
    note: str = ""
    photo: bytes | None = None


def make_checkin(
    patrol: Patrol,
    *,
    tag: str,
    ts_s: float,
    guard: str,
    source: Source,
    now_ms: int,
    reader: str = "",
    note: str = "",
    photo: bytes | None = None,
) -> Checkin:
    """Validate and resolve the tag to its checkpoint; CheckinError names the problem."""
    tag = tag.strip()
    if not tag:
        raise CheckinError("empty tag / 标签为空")
    checkpoint = patrol.by_tag(tag)
    if checkpoint is None:
        raise CheckinError(f"unknown tag {tag[:40]!r} / 未登记的巡查点标签")
    ts_ms = int(ts_s * 1000)
    if ts_ms > now_ms + MAX_FUTURE_S * 1000:
        raise CheckinError("time is in the future / 打卡时间晚于当前时间 (check the reader's clock)")
    if ts_ms < now_ms - MAX_PAST_S * 1000:
        raise CheckinError("time is more than 400 days ago / 打卡时间过早 (check the reader's clock)")
    guard = guard.strip()
    if len(guard) > MAX_GUARD or not guard.isprintable():
        raise CheckinError(f"guard must be printable text of at most {MAX_GUARD} characters / 巡查人员名称无效")
    if len(note) > MAX_NOTE:
        raise CheckinError(f"note longer than {MAX_NOTE} characters / 备注过长")
    if photo is not None and len(photo) > MAX_PHOTO_BYTES:
        raise CheckinError(f"photo larger than {MAX_PHOTO_BYTES // 1_000_000} MB / 照片过大")
    return Checkin(ts_ms, checkpoint.id, checkpoint.tag, guard, source, reader[:64], note.strip(), photo)
