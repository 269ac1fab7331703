"""The shipped unit passes `systemd-analyze verify` and keeps its contract settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO


def test_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is installed by .ci/run (Debian package systemd)"
    text = (REPO / "systemd" / "edge.service").read_text(encoding="utf-8")
    for needed in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=always",
        "StateDirectory=edge",
        "SupplementaryGroups=dialout",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert needed in text, needed
    # verify checks that ExecStart exists: point it at this interpreter, which does.
    unit = tmp_path / "edge.service"
    unit.write_text(text.replace("/opt/edge/venv/bin/edge", sys.executable), encoding="utf-8")
    proc = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "edge.service" not in proc.stderr, proc.stderr
