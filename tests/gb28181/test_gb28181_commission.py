"""`edge commission gb28181` against the simulator: registration checked, catalog printed zh/en."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.gb28181.support import DEVICE_ID, SimThread
from tests.helpers import edge_cmd

CONFIG = """\
site: {{id: s1, name: 测试学校}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:8080"}}
mqtt: {{url: "mqtt://127.0.0.1:1883"}}
cameras:
  - {{id: cam-gate, name: 南门枪机, onvif: http://192.0.2.1/onvif/device_service, gb28181_id: "34020000001320000001"}}
buttons:
  - {{id: b1, name: 南门一键报警, location: 南门岗亭, zone: 1, transport: mqtt, camera: cam-gate,
      gb28181_id: "34020000001340000001"}}
gb28181: {{server_id: "34020000002000000001", server: "{server}", device_id: "{device}", password_file: {dir}/pw}}
"""


@pytest.mark.parametrize(("password", "rc", "needle"), [("12345678", 0, "注册成功 registered"), ("bad", 1, "注册失败")])
def test_commission(tmp_path: Path, password: str, rc: int, needle: str) -> None:
    sim = SimThread()
    try:
        (tmp_path / "pw").write_text(password, encoding="utf-8")
        cfg = tmp_path / "edge.yaml"
        cfg.write_text(CONFIG.format(dir=tmp_path, server=sim.sim.url, device=DEVICE_ID), encoding="utf-8")
        out = subprocess.run(
            edge_cmd("commission", "gb28181", "-c", str(cfg), "--wait", "5"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == rc, out.stdout + out.stderr
        assert needle in out.stdout
        assert "34020000001340000001  134 报警输入 alarm input" in out.stdout
        assert "联动 linked: 南门枪机 34020000001320000001" in out.stdout
        if rc == 0:
            assert sim.sim.unregisters == 1 and DEVICE_ID not in sim.sim.devices
    finally:
        sim.close()
