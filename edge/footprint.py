"""Keeping the alarm core small (DESIGN.md section 1: core RSS <= 60 MB with 64 buttons and 128 cameras).

Most of the core's memory is the code of its libraries; what the core never uses, it does not load.
"""

from __future__ import annotations

import importlib.util
import sys

# FastAPI asks of every route's types and of odd response values "is this a pydantic v1 model?" by
# importing pydantic.v1, the whole v1 compatibility layer (~1.5 MB). Nothing in edge uses v1. A None
# entry in sys.modules makes that import raise ImportError, which FastAPI reads as "no v1 here".
UNUSED_MODULES = ("pydantic.v1",)


def leave_out_unused_modules() -> None:
    """Call before the API is built (`edge run` only: other commands and the tests keep everything)."""
    for name in UNUSED_MODULES:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # documented: import raises ModuleNotFoundError
    _uvicorn_without_its_cli()


# uvicorn's package __init__ imports its command line (click, ~1.1 MB) and, through it, the reloader's
# supervisors (multiprocessing, ~0.5 MB). The daemon embeds uvicorn.Server and needs neither: the
# package is registered without running its __init__, and given the names the daemon uses from it.
def _uvicorn_without_its_cli() -> None:
    if "uvicorn" in sys.modules:
        return
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the daemon's own import reports it
    sys.modules["uvicorn"] = package = importlib.util.module_from_spec(spec)
    try:
        from uvicorn._version import __version__  # noqa: PLC0415
        from uvicorn.config import Config  # noqa: PLC0415
        from uvicorn.server import Server  # noqa: PLC0415
    except ImportError:  # a uvicorn laid out otherwise: import it whole, as everywhere else
        for name in [m for m in sys.modules if m == "uvicorn" or m.startswith("uvicorn.")]:
            del sys.modules[name]
        return
    for name, value in (("__version__", __version__), ("Config", Config), ("Server", Server)):
        setattr(package, name, value)


# glibc raises its mmap threshold to the size of the largest block it has freed (up to 32 MiB), so after
# the first scrypt (16 MiB of working memory per token or password check, in the API's auth thread) the
# next ones come from that thread's arena, whose freed top stays resident: 16 MB more core RSS for good
# once a second check (another token, a login, a wrong token's dummy hash) has run. Setting the threshold
# explicitly turns the adjustment off, and big blocks go back to the OS on free.
M_MMAP_THRESHOLD = -3  # <malloc.h>
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value


def _mallopt(param: int, value: int) -> bool:
    """True when the C library took the setting (glibc); elsewhere nothing changes."""
    import ctypes  # noqa: PLC0415 - only `edge run` and `edge county` pay for it

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # not glibc (musl, macOS)
        return False
    return bool(mallopt(param, value))


def pin_mmap_threshold() -> bool:
    return _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


# glibc gives each thread that allocates its own arena (up to 8 per core), and memory freed in one
# stays with it. The core's threads (the store's writer, the API's auth and worker threads, paho's,
# asyncio's executor) each kept a partly used heap: two arenas measured 0.5 MB less core RSS in the
# footprint bench (62.0 against 62.45 MB, two runs each). The GIL already serialises most allocation,
# so sharing arenas costs little contention.
M_ARENA_MAX = -8  # <malloc.h>
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> bool:
    """Call before any thread starts."""
    return _mallopt(M_ARENA_MAX, MALLOC_ARENAS)
