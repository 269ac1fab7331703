"""The daemon's clock: wall-clock UTC milliseconds that advance with the monotonic clock.

Deadlines in the rule engine (hysteresis, escalation, maintenance expiry) and in the outbox (retry
times) are stored as wall-clock milliseconds, so a wall clock stepped by an hour would fire them all
at once (forward) or stall them for an hour (back). This clock follows the wall clock while it moves
smoothly (NTP slewing, small steps up to `JUMP_MS`), but a larger step is absorbed: time keeps
advancing at the monotonic rate and the gap to the wall clock is closed gradually at `SLEW` of the
elapsed time, so no duration measured with it ever sees the jump. A step larger than `STEP_MS` is
taken at once: that is a clock being set for the first time (an RTC-less gateway whose NTP sync lands
after start-up), where the old time was simply wrong and evidence timestamps must be right now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

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
