"""What one simulated camera is, and the faults that can be switched on it at runtime."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from edge.sim.video import MODES as VIDEO_MODES

OfflineMode = Literal["refused", "closed"]
MALFORMED_KINDS = ("truncated", "html", "binary", "wrong_root", "empty_body", "huge")


def _checked(key: str, value: Any) -> Any:
    if key == "video_mode" and value not in VIDEO_MODES:
        raise ValueError(f"video_mode must be one of {VIDEO_MODES}")
    if key == "http_auth" and value not in ("", "digest", "basic"):
        raise ValueError("http_auth must be '', 'digest' or 'basic'")
    if key == "gaps":
        pairs = [tuple(float(x) for x in pair) for pair in value]
        if not all(len(pr) == 2 and pr[0] > pr[1] >= 0 for pr in pairs):
            raise ValueError("gaps must be [from_ago_s, to_ago_s] pairs with from_ago_s > to_ago_s >= 0")
        return pairs
    if key == "malformed":
        value = "truncated" if value is True else (value or "")
        if value and value not in MALFORMED_KINDS:
            raise ValueError(f"malformed must be one of {MALFORMED_KINDS}")
    return value


@dataclass(slots=True)
class Faults:
    """Every field can be changed while the simulator runs; the next request sees it."""

    wrong_password: bool = False  # the camera's password no longer matches the configured one
    clock_offset_s: float = 0.0  # camera clock minus true UTC
    retention_days: float = 45.0  # earliest recorded data = now - this
    search: bool = True  # False: no Profile G search service advertised or served
    replay: bool = True  # False: no Profile G replay service (an NVR that only records)
    stalled_s: float = 0.0  # newest recorded data = now - this (0: recording live)
    delay_s: float = 0.0  # answer every request this much later
    hang: bool = False  # accept requests and never answer
    malformed: str = ""  # answer with garbage: one of MALFORMED_KINDS ("" = off; True means "truncated")
    offline: OfflineMode | None = None  # refuse connections, or accept and close them
    video_mode: str = "normal"  # passed through to the video simulator
    http_auth: str = ""  # "digest" or "basic": HTTP authentication demanded as well as WS-Security (some firmwares)
    # Stretches with no recorded video, [from_ago_s, to_ago_s] before now (reported by FindEvents).
    gaps: list[tuple[float, float]] = field(default_factory=list)

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise KeyError(f"unknown fault {key!r}; known: {sorted(known)}")
            setattr(self, key, _checked(key, value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SimCamera:
    id: str
    username: str = "admin"
    password: str = "admin123"  # noqa: S105 - the simulator's documented demo credential
    manufacturer: str = "EdgeSim"
    model: str = "SIM-IPC-1"
    firmware: str = "1.0.0"
    profiles: tuple[str, ...] = ("Profile_1", "Profile_2")
    recording_token: str = ""
    faults: Faults = field(default_factory=Faults)
    calls: Counter[str] = field(default_factory=Counter)  # operations answered, for tests and the demo
    port: int = 0  # set when the simulator binds

    def __post_init__(self) -> None:
        if not self.recording_token:
            self.recording_token = f"REC-{self.id}"

    def clock(self) -> float:
        """The camera's idea of now (epoch seconds)."""
        return time.time() + self.faults.clock_offset_s

    def data_range(self) -> tuple[float, float]:
        """(earliest, newest) recorded data, epoch seconds, true time."""
        now = time.time()
        return now - self.faults.retention_days * 86_400, now - self.faults.stalled_s

    def accepts(self, password_ok: bool) -> bool:
        return password_ok and not self.faults.wrong_password
