"""Pure edge detection with debounce: a stream of input samples in, press/release edges out.

A press is reported once, with the moment its first sample was seen (not the moment the debounce
confirmed it), holding yields nothing, and a release is reported once. Edges always alternate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EdgeKind(StrEnum):
    PRESS = "press"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class Edge:
    kind: EdgeKind
    ts_ms: int  # when the first sample of the new level was seen


class EdgeDetector:
    """Debounced level tracker for one input.

    `debounce` is how many consecutive equal samples a new level needs; 1 means no added delay.
    The initial level is "released" so an input already active at start-up is reported as a press:
    a missed alarm is worse than a repeated one.
    """

    __slots__ = ("_candidate", "_candidate_since", "_run", "debounce", "level")

    def __init__(self, debounce: int = 1, level: bool = False) -> None:
        if debounce < 1:
            raise ValueError("debounce must be at least 1")
        self.debounce = debounce
        self.level = level
        self._candidate = level
        self._candidate_since = 0
        self._run = 0

    def feed(self, active: bool, ts_ms: int) -> Edge | None:
        """Take one sample; return the edge it completes, if any."""
        if active == self.level:
            self._candidate = active
            self._run = 0
            return None
        if self._run == 0 or active != self._candidate:
            self._candidate = active
            self._candidate_since = ts_ms
            self._run = 0
        self._run += 1
        if self._run < self.debounce:
            return None
        self.level = active
        self._run = 0
        return Edge(EdgeKind.PRESS if active else EdgeKind.RELEASE, self._candidate_since)

    @property
    def settled(self) -> bool:
        """No change half-confirmed: feeding the current level again changes nothing."""
        return self._run == 0

    def reset_run(self) -> None:
        """Forget a half-confirmed change, e.g. after samples were missed while the unit was offline."""
        self._run = 0
        self._candidate = self.level
