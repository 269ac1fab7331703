"""The recorder's storage: a bounded ring of closed segments, each starting at a key frame.

A segment is "flushed" (replayable) only once the next key frame closes it, as on a real NVR that
writes whole files: the newest seconds are not replayable yet, and a client asking for them right
after the press gets less than it asked for and must come back (the core's clip retries).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from edge.sim.recorder.h264 import AccessUnit


@dataclass(slots=True)
class Segment:
    units: list[AccessUnit] = field(default_factory=list)
    size: int = 0

    @property
    def start(self) -> float:
        return self.units[0].ts

    @property
    def end(self) -> float:
        return self.units[-1].ts


class SegmentRing:
    """Keeps at most `max_seconds` of video and `max_bytes`; the oldest segments go first."""

    def __init__(self, segment_s: float = 2.0, max_seconds: float = 120.0, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.segment_s = segment_s
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.closed: deque[Segment] = deque()
        self._open: Segment | None = None
        self._bytes = 0

    def add(self, au: AccessUnit) -> None:
        seg = self._open
        if au.key and (seg is None or au.ts - seg.start >= self.segment_s):
            if seg is not None:
                self._close(seg)
            seg = self._open = Segment()
        if seg is None:  # before the first key frame nothing is decodable: not recorded
            return
        seg.units.append(au)
        seg.size += au.size

    def _close(self, seg: Segment) -> None:
        self.closed.append(seg)
        self._bytes += seg.size
        while self.closed and (
            self._bytes > self.max_bytes or self.closed[-1].end - self.closed[0].start > self.max_seconds
        ):
            self._bytes -= self.closed.popleft().size

    def span(self) -> tuple[float, float] | None:
        """(earliest, newest) replayable time."""
        return (self.closed[0].start, self.closed[-1].end) if self.closed else None

    def units(self, start: float, end: float | None) -> list[AccessUnit]:
        """Every flushed picture from the key frame at or before `start` up to `end`."""
        segs = [s for s in self.closed if s.end >= start and (end is None or s.start <= end)]
        return [u for s in segs for u in s.units if end is None or u.ts <= end]
