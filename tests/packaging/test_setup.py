"""scripts/dev.sh set-up: separate demo and test lists, and a re-run that needs no network."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "scripts" / "dev.sh"
# The test stack the demo must not pull in (issue 18).
TEST_ONLY = ("chromium", "gstreamer", "gir1.2-gst", "fonts-noto-cjk", "faketime", "python3-gi")


def _packages(name: str) -> list[str]:
    lines = (ROOT / "scripts" / name).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_demo_list_has_no_test_stack() -> None:
    demo = _packages("apt-demo.txt")
    assert "python3-venv" in demo
    assert not [p for p in demo if p.startswith(TEST_ONLY)]


def test_test_list_names_what_a_minimal_system_lacks() -> None:
    test = _packages("apt-test.txt")
    assert "libatomic1" in test  # playwright's node: libatomic.so.1
    assert "chromium" in test


def test_demo_extra_has_no_test_tools() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = text[text.index("dependencies = [") : text.index("]", text.index("dependencies = ["))]
    for tool in ("playwright", "mypy", "pytest", "ruff", "schemathesis"):
        assert tool not in deps


def _ready() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    return subprocess.run(["bash", str(DEV), "check", "demo"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _ready(), reason="needs root, unshare and this checkout's .venv set up (scripts/dev.sh setup)")
def test_rerun_needs_no_network() -> None:
    # A network namespace of our own has no interface but loopback: apt or pip would fail at once.
    out = subprocess.run(
        ["unshare", "-n", "bash", str(DEV), "setup", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "pip skipped" in out.stdout
    assert "installing" not in out.stdout


def test_check_reports_a_changed_pyproject(tmp_path: Path) -> None:
    # A copy of the set-up whose pyproject differs from what the venv was stamped with needs pip again.
    (tmp_path / "scripts").mkdir()
    for name in ("dev.sh", "apt-demo.txt", "apt-test.txt"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    edge = tmp_path / ".venv" / "bin" / "edge"
    edge.write_text("#!/bin/sh\n", encoding="utf-8")
    edge.chmod(0o755)
    (tmp_path / ".venv" / ".setup-demo").write_text("0" * 64 + "\n", encoding="utf-8")
    check_demo = ["bash", str(tmp_path / "scripts" / "dev.sh"), "check", "demo"]
    out = subprocess.run(check_demo, capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert ".venv needs pip (demo)" in out.stdout
    # Stamped with what it was built from (the demo list, pyproject, the mode): nothing to do.
    built_from = b"".join(p.read_bytes() for p in (tmp_path / "scripts" / "apt-demo.txt", tmp_path / "pyproject.toml"))
    stamp = hashlib.sha256(built_from + b"mode=demo\n").hexdigest()
    (tmp_path / ".venv" / ".setup-demo").write_text(stamp + "\n", encoding="utf-8")
    out = subprocess.run(check_demo, capture_output=True, text=True, check=False)
    assert ".venv is up to date (demo)" in out.stdout
