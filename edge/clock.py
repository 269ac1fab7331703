"""The daemon's clock: wall-clock UTC milliseconds that advance with the monotonic clock.

Deadlines in the rule engine (hysteresis, escalation, maintenance expiry) and in the outbox (retry
times) are stored as wall-clock milliseconds, so a wall clock stepped by an hour would fire them all
at once (forward) or stall them for an hour (back). This clock follows the wall clock while it moves
smoothly (NTP slewing, small steps up to `JUMP_MS`), but a larger step is absorbed: time keeps
advancing at the monotonic rate and the gap to the wall clock is closed gradually at `SLEW` of the
elapsed time, so no duration measured with it ever sees the jump. A step larger than `STEP_MS` is
taken at once: that is a clock being set for the first time (an RTC-less gateway whose NTP sync lands
after start-up), where the old time was simply wrong and evidence timestamps must be right now.

`StallWatch` notices when the process itself did not run (SIGSTOP, a VM pause, heavy swapping): the
deadlines that measure a device's silence must then be re-armed from the moment it resumed, because
the silence was ours, not the device's (DESIGN.md section 8; README "Supervision").
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# NTP steps the clock only when it is off by more than 128 ms and slews below that; 2 s separates its
# corrections (followed at once) from a jump (a person or a broken RTC setting the time).
JUMP_MS = 2_000
# A jump's gap is closed at 2 % of elapsed time: durations (2 min escalation, 30 s heartbeats) stay
# within 2 %, and an hour's gap is gone in about two days, so event times are not wrong for long.
SLEW = 0.02
# Beyond 6 h the wall clock is being set, not drifting or mis-set by DST/timezone mistakes: step it.
STEP_MS = 6 * 3_600_000


class SteadyClock:
    def __init__(
        self, wall_ns: Callable[[], int] = time.time_ns, mono_ns: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self._wall, self._mono = wall_ns, mono_ns
        self._last_mono = mono_ns() // 1_000_000
        self._offset = wall_ns() // 1_000_000 - self._last_mono
        self._lock = threading.Lock()
        self._jumped = False

    def __call__(self) -> int:
        with self._lock:
            mono = self._mono() // 1_000_000
            gap = self._wall() // 1_000_000 - (mono + self._offset)
            if abs(gap) <= JUMP_MS or abs(gap) > STEP_MS:
                if abs(gap) > STEP_MS:
                    log.warning("clock: the wall clock was set by %+.0f s; following it at once", gap / 1000)
                self._offset += gap
                self._jumped = False
            else:
                if not self._jumped:
                    log.warning("clock: the wall clock jumped by %+.1f s; durations keep monotonic time", gap / 1000)
                    self._jumped = True
                step = int((mono - self._last_mono) * SLEW)
                self._offset += max(-step, min(step, gap))
            self._last_mono = mono
            return mono + self._offset


CLOCK = SteadyClock()  # the daemon's one clock: edge.events.now_ms reads it

# The watch beats every BEAT_S; a gap of more than STALL_MARGIN_S between two moments the event loop
# ran is a stall. 3 s is far above the loop's worst latency in normal work (a commit is off the loop,
# a poll round is ~100 ms) and below the shortest heartbeat timeout a site should configure (10 s).
BEAT_S = 0.5
STALL_MARGIN_S = 3.0
# Stalls kept for consumers that look rarely; each is consumed within a second of the resume.
STALLS_KEPT = 64


@dataclass(frozen=True, slots=True)
class Stall:
    """The process did not run from `start` to `end` (monotonic seconds; wall-clock ms alongside)."""

    start_mono: float
    end_mono: float
    start_ms: int
    end_ms: int

    @property
    def seconds(self) -> float:
        return self.end_mono - self.start_mono


class StallWatch:
    """Beats on the event loop and tells every deadline keeper when the loop did not run for a while.

    Consumers keep a cursor and call `since(cursor)` on each wake-up, before they judge a deadline:
    the first one to wake after a stall detects it (the order the loop's timers fire in after a
    resume is arbitrary), and all of them see the same stall once. Call only from the loop's thread.
    """

    def __init__(
        self,
        margin_s: float = STALL_MARGIN_S,
        mono: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = CLOCK,
    ) -> None:
        self.margin_s = margin_s
        self._mono, self._wall = mono, wall_ms
        self._last = mono()
        self._last_ms = wall_ms()
        self._running = False  # no beats, no verdicts: a watch nobody drives must not invent stalls
        self._stalls: list[Stall] = []
        self.count = 0  # stalls noticed since start; a cursor is a value of this

    def beat(self) -> Stall | None:
        """Note that the loop runs now; the stall that just ended, if the last beat is too long ago."""
        now = self._mono()
        now_ms = self._wall()
        stall = None
        if self._running and now - self._last > self.margin_s:
            stall = Stall(self._last, now, self._last_ms, now_ms)
            self._stalls = [*self._stalls[-(STALLS_KEPT - 1) :], stall]
            self.count += 1
            log.warning("loop: the process did not run for %.1f s (stopped or starved)", stall.seconds)
        self._last, self._last_ms = now, now_ms
        return stall

    def stalled(self) -> bool:
        """From any thread: the loop has not beaten for longer than the margin (a stall not yet noticed)."""
        return self._running and self._mono() - self._last > self.margin_s

    def since(self, cursor: int) -> tuple[int, list[Stall]]:
        """(new cursor, the stalls noticed after `cursor`), detecting one that has just ended."""
        self.beat()
        new = self.count - cursor
        return self.count, (self._stalls[-new:] if new > 0 else [])

    async def run(self, beat_s: float = BEAT_S) -> None:
        self._running = True
        self.beat()
        try:
            while True:
                await asyncio.sleep(beat_s)
                self.beat()
        finally:
            self._running = False


LOOP_STALLS = StallWatch()  # the daemon runs it; drivers and the runtime consume it
