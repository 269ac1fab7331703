"""The gateway's .deb, built once per session for the package tests (fast inspection and --heavy installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO

BUILD = REPO / "scripts" / "build-deb.sh"
# pip resolving the dependencies into the venv, then dpkg-deb packing ~300 MB: 1-2 min on a shared box.
BUILD_TIMEOUT_S = 600
needs_debian_python = pytest.mark.skipif(
    not (Path("/usr/bin/python3").exists() and shutil.which("dpkg-deb")),
    reason="the package is built with Debian's /usr/bin/python3 and dpkg-deb",
)


def build_deb(out: Path, compress: str = "gzip", level: str = "1") -> Path:
    env = {**os.environ, "DEB_COMPRESS": compress, "DEB_COMPRESS_LEVEL": level}
    proc = subprocess.run(
        ["bash", str(BUILD), str(out)], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path.exists()
    return path


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("dist")
    yield build_deb(out)
    shutil.rmtree(out, ignore_errors=True)
