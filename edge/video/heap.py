"""Give freed decode memory back to the OS once no decode runs (glibc keeps it in its arenas otherwise).

A sweep of 32 cameras' frames leaves ~15 MB of freed but resident heap in the camera worker that
glibc would only reuse, never return; `malloc_trim(0)` after the last decode in flight returns it
(a few ms of CPU per sweep end). Elsewhere than glibc this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        fn: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None
    return fn


def trim() -> bool:
    """Return free heap pages to the OS; True when the C library could do it."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True
