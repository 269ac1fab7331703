"""What the API reads from the running daemon, handed to the app at creation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.config import Config
from edge.hub import Hub
from edge.store import Database


@dataclass
class AppState:
    config: Config
    db: Database
    hub: Hub
    started_monotonic: float = field(default_factory=time.monotonic)
    # Extra status sections contributed by running parts (relay links, faulted drivers, ...).
    status_providers: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic
