"""Patrol checkpoints and plans (DESIGN.md section 11)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from edge.config.base import Identifier, Strict

_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
_WINDOW = re.compile(rf"^(?P<start>{_HHMM})-(?P<end>{_HHMM}|24:00)$")


def minutes_of(hhmm: str) -> int:
    """'06:30' -> 390; '24:00' -> 1440 (the end of a window that runs to midnight)."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class Checkpoint(Strict):
    id: Identifier
    name: str = Field(min_length=1, max_length=64)
    location: str = ""
    tag: str = Field(
        min_length=1,
        max_length=128,
        description="What the reader reports: an NFC/RFID/iButton uid or a QR value (compared case-insensitively)",
    )
    camera: Identifier | None = Field(None, description="Camera covering the checkpoint")

    @field_validator("tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        if not v.strip() or not v.isprintable():
            raise ValueError("must be printable text, e.g. the tag's uid 04A1B2C3D4")
        return v.strip()


class Plan(Strict):
    id: Identifier
    name: str = ""
    checkpoints: list[Identifier] = Field(min_length=1)
    rounds_per_day: int = Field(5, ge=1, le=96)
    window: str = Field("00:00-24:00", description="Local time window in which rounds count, HH:MM-HH:MM")
    times: list[str] = Field(
        default_factory=list, description="Optional fixed round start times (HH:MM); empty: rounds at any time"
    )
    tolerance_minutes: int = Field(30, ge=1, le=720, description="How far from a fixed time a round may start")
    round_minutes: int = Field(60, ge=1, le=720, description="Time allowed to visit every checkpoint of a round")

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        m = _WINDOW.match(v)
        if not m or minutes_of(m["start"]) >= minutes_of(m["end"]):
            raise ValueError("must be HH:MM-HH:MM with the start before the end, e.g. 06:00-22:00")
        return v

    @field_validator("times")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        for t in v:
            if not re.fullmatch(_HHMM, t):
                raise ValueError(f"{t!r} is not a time HH:MM")
        if len(set(v)) != len(v):
            raise ValueError("round times repeat")
        return sorted(v)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        if len(set(self.checkpoints)) != len(self.checkpoints):
            raise ValueError("checkpoints repeat")
        if self.times and len(self.times) < self.rounds_per_day:
            raise ValueError(f"{len(self.times)} round times for rounds_per_day {self.rounds_per_day}")
        start, end = self.window_minutes
        for t in self.times:
            if not start <= minutes_of(t) < end:
                raise ValueError(f"round time {t} is outside the window {self.window}")
        return self

    @property
    def window_minutes(self) -> tuple[int, int]:
        start, end = self.window.split("-")
        return minutes_of(start), minutes_of(end)


class Patrol(Strict):
    checkpoints: list[Checkpoint] = Field(min_length=1)
    plans: list[Plan] = []

    def problems(self, camera_ids: set[str]) -> list[tuple[tuple[str | int, ...], str]]:
        """Unique ids and tags, and references that must exist (each with its own key path)."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        ids: set[str] = set()
        tags: dict[str, str] = {}
        for i, cp in enumerate(self.checkpoints):
            if cp.id in ids:
                out.append((("checkpoints", i, "id"), f"duplicate checkpoint id {cp.id!r}"))
            ids.add(cp.id)
            key = cp.tag.casefold()
            if key in tags:
                out.append((("checkpoints", i, "tag"), f"tag {cp.tag!r} is already checkpoint {tags[key]!r}'s"))
            tags.setdefault(key, cp.id)
            if cp.camera is not None and cp.camera not in camera_ids:
                out.append((("checkpoints", i, "camera"), f"camera {cp.camera!r} is not in cameras"))
        plan_ids: set[str] = set()
        for i, plan in enumerate(self.plans):
            if plan.id in plan_ids:
                out.append((("plans", i, "id"), f"duplicate plan id {plan.id!r}"))
            plan_ids.add(plan.id)
            for j, c in enumerate(plan.checkpoints):
                if c not in ids:
                    out.append((("plans", i, "checkpoints", j), f"checkpoint {c!r} is not in patrol.checkpoints"))
        return out

    def by_tag(self, tag: str) -> Checkpoint | None:
        wanted = tag.strip().casefold()
        for cp in self.checkpoints:
            if cp.tag.casefold() == wanted:
                return cp
        return None
