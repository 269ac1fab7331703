"""Patrol config: validated like the rest, each error with its file, line and key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import edge_cmd

HEAD = """\
site: {id: sch-1, name: 测试}
storage: {path: /tmp/x.db}
api: {listen: "127.0.0.1:8080"}
cameras:
  - {id: cam1, name: 南门, onvif: "http://192.0.2.1/onvif/device_service"}
patrol:
  checkpoints:
    - {id: cp-gate, name: 南门, tag: "04A1"}
"""


@pytest.mark.parametrize(
    ("snippet", "line", "key", "message"),
    [
        ("    - {id: cp-lab, name: 实验楼, tag: 04a1}\n", 9, "patrol.checkpoints[1].tag", "already checkpoint"),
        ("    - {id: cp-lab, name: 实验楼, tag: X, camera: cam9}\n", 9, "patrol.checkpoints[1].camera", "cam9"),
        (
            "  plans:\n    - {id: p, checkpoints: [cp-gate, cp-nope]}\n",
            10,
            "patrol.plans[0].checkpoints[1]",
            "not in patrol.checkpoints",
        ),
        ("  plans:\n    - {id: p, checkpoints: [cp-gate], window: '22:00-06:00'}\n", 10, "patrol.plans[0].window", ""),
        (
            "  plans:\n    - {id: p, checkpoints: [cp-gate], rounds_per_day: 5, times: ['08:00']}\n",
            10,
            "patrol.plans[0]",
            "1 round times for rounds_per_day 5",
        ),
        ("  plans:\n    - {id: p, checkpoints: [cp-gate], rounds: 5}\n", 10, "patrol.plans[0].rounds", "unknown key"),
    ],
)
def test_patrol_errors(tmp_path: Path, snippet: str, line: int, key: str, message: str) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(HEAD + snippet, encoding="utf-8")
    proc = subprocess.run(edge_cmd("check-config", "-c", str(path)), capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stdout
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith(f"{path}:{line}: {key}:"), first
    assert message in first
