"""How the project runs its GStreamer children: Debian's Python, which alone has the `gi` bindings.

The scripts (edge/video/stream_grab.py, edge/video/replay_pull.py, edge/gb28181/gst_source.py) import
only the standard library and `gi`; credentials go to their stdin or environment, never their argv
(/proc/PID/cmdline is world-readable).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Final

GST_PYTHON: Final = "/usr/bin/python3"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment without the venv's Python paths (Debian's interpreter finds its own gi)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, **(extra or {})}


def spawn(script: Path, spec: dict[str, object]) -> subprocess.Popen[bytes]:
    """`script` under Debian's Python, `spec` written to its stdin as one JSON line; stdout is a pipe.

    OSError when there is no such interpreter on this box."""
    proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and our own script
        [GST_PYTHON, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env()
    )
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps(spec).encode() + b"\n")
        proc.stdin.close()
    except BrokenPipeError:  # it died at once; its exit tells the caller
        pass
    return proc
