"""Counters shared across modules. Names carry the `edge_` prefix (DESIGN.md section 6).

Each module may define its own metrics on the default registry; this file holds the ones
several modules use, so bad input is counted the same way everywhere.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter

BAD_INPUT = Counter(
    "edge_bad_input_total",
    "Inputs rejected (malformed payloads, CRC errors, garbage XML, bad frames)",
    ["source", "reason"],
)

# One warning per (source, reason) per this many seconds, so a babbling device cannot flood the log.
_LOG_EVERY_S = 30.0
_last_logged: dict[tuple[str, str], float] = {}


def bad_input(logger: logging.Logger, source: str, reason: str, detail: str = "") -> None:
    """Count a rejected input and log it, rate-limited per (source, reason)."""
    BAD_INPUT.labels(source=source, reason=reason).inc()
    key = (source, reason)
    now = time.monotonic()
    if now - _last_logged.get(key, -_LOG_EVERY_S) >= _LOG_EVERY_S:
        _last_logged[key] = now
        logger.warning("bad input from %s: %s %s", source, reason, detail)
    else:
        logger.debug("bad input from %s: %s %s", source, reason, detail)
