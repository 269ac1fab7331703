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
    for package, (modules, names) in WITHOUT_INIT.items():
        _package_without_init(package, modules, names)
    _import_with_deferred_builds(DEFERRED_BUILDS)


# FastAPI defines some 40 pydantic models at import: the OpenAPI document's (fastapi.openapi.models)
# and its security schemes'. pydantic builds each one's validator and serializer when the class is
# created; the daemon needs them only when /docs or /openapi.json is opened, and HTTPBearer's one
# when the app is built. Defining them with pydantic's defer_build postpones each build to its first
# use: 1.3 MB less core RSS in the footprint bench (60.1-60.2 against 61.3-61.5 MB, two runs each).
# Only FastAPI's own models: edge's are validated at start-up or wrapped by FastAPI's route adapters
# anyway, and deferring those too measured 0.4 MB worse.
DEFERRED_BUILDS = ("fastapi", "fastapi.security")


def _import_with_deferred_builds(modules: tuple[str, ...]) -> None:
    """Import `modules` with defer_build as pydantic's default model config, for the time of the
    import only (before any thread starts). A pydantic without that default imports them as they are."""
    from pydantic._internal import _config  # noqa: PLC0415 - pydantic's only global knob for it

    defaults = getattr(_config, "config_defaults", None)
    if not isinstance(defaults, dict) or "defer_build" not in defaults:
        defaults = {}
    before = defaults.get("defer_build", False)
    defaults["defer_build"] = True
    try:
        for name in modules:
            importlib.import_module(name)
    finally:
        defaults["defer_build"] = before


# Packages whose __init__ imports much the daemon never uses: each is registered without running it,
# its listed modules imported, and the names the daemon takes from the package set on it.
# - uvicorn's imports its command line (click, ~1.1 MB) and, through it, the reloader's supervisors
#   (multiprocessing, ~0.5 MB); the daemon embeds uvicorn.Server.
# - prometheus_client's imports its exposition module, which brings http.server, wsgiref and gzip
#   for servers and push gateways (~0.5 MB); /metrics is written by edge.metrics_text. The default
#   collectors (process, GC, platform) register themselves when their modules are imported.
WITHOUT_INIT: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "uvicorn": (
        (),
        {"__version__": "uvicorn._version", "Config": "uvicorn.config", "Server": "uvicorn.server"},
    ),
    "prometheus_client": (
        (
            "prometheus_client.process_collector",
            "prometheus_client.gc_collector",
            "prometheus_client.platform_collector",
        ),
        {
            **dict.fromkeys(("Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"), "prometheus_client.metrics"),
            **dict.fromkeys(("CollectorRegistry", "REGISTRY"), "prometheus_client.registry"),
            "Metric": "prometheus_client.metrics_core",
        },
    ),
}


def _package_without_init(package: str, modules: tuple[str, ...], names: dict[str, str]) -> None:
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the daemon's own import reports it
    sys.modules[package] = module = importlib.util.module_from_spec(spec)
    try:
        for name in modules:
            importlib.import_module(name)
        values = {attr: getattr(importlib.import_module(source), attr) for attr, source in names.items()}
    except (ImportError, AttributeError):  # laid out otherwise: import it whole, as everywhere else
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        return
    for attr, value in values.items():
        setattr(module, attr, value)


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
