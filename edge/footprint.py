"""Keeping the alarm core small (DESIGN.md section 1: core RSS <= 60 MB with 64 buttons and 128 cameras).

Most of the core's memory is the code of its libraries; what the core never uses, it does not load.
"""

from __future__ import annotations

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
