"""Config contract: the shipped configs validate; every error is reported with file and line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edge.config import ConfigError, load_config, parse_config
from tests.helpers import REPO, edge_cmd

BROKEN = """\
site: {id: sch-1, name: 测试}
storage: {path: /tmp/x.db}
api:
  listen: "127.0.0.1:8080"
  tokens_fle: /etc/edge/tokens.yaml
serial_buses:
  - id: bus1
    port: /dev/ttyUSB0
    baudrate: fast
buttons:
  - id: b1
    zone: 1
    transport: serial
    bus: bus1
    unit: 1
    input: {type: discrete_input, address: 0}
cameras:
  - id: cam1
    name: 南门
    onvif: http://192.0.2.1/onvif/device_service
    colour: red
"""


@pytest.mark.parametrize("name", ["edge.example.yaml", "demo.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    proc = subprocess.run(
        edge_cmd("check-config", "-c", str(REPO / "config" / name)), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_all_errors_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    proc = subprocess.run(edge_cmd("check-config", "-c", str(path)), capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert f"{path}:5: api.tokens_fle: unknown key" in lines[0]  # typo
    assert any(line.startswith(f"{path}:9: serial_buses[0].baudrate:") for line in lines)  # wrong type
    assert any(line.startswith(f"{path}:11: buttons[0].name: Field required") for line in lines)  # missing
    assert any(line.startswith(f"{path}:21: cameras[0].colour: unknown key") for line in lines)  # unknown key
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("snippet", "line", "path", "message"),
    [
        (
            "buttons:\n  - {id: b, name: n, zone: 1, transport: serial, bus: nope, unit: 1,"
            " input: {type: coil, address: 0}}\n",
            5,
            "buttons[0].bus",
            "not in serial_buses",
        ),
        ("buttons:\n  - {id: b, name: n, zone: 1, transport: mqtt}\n", 5, "buttons[0].transport", "needs an 'mqtt'"),
        ("police: {account: xyz}\n", 4, "police.account", "pattern"),
        ("police: {account: '1234', receivers: ['http://x:1']}\n", 4, "police.receivers", "dc09://"),
        ("site2: {}\n", 4, "site2", "unknown key"),
        (
            "serial_buses:\n  - {id: b1, port: /dev/x}\nbuttons:\n  - {id: b1, name: n, zone: 1, transport: serial,"
            " bus: b1, unit: 1, input: {type: input_register_bit, address: 0}}\n",
            7,
            "buttons[0].input",
            "'bit' is",
        ),
    ],
)
def test_error_table(snippet: str, line: int, path: str, message: str) -> None:
    text = "site: {id: s}\nstorage: {path: /tmp/x.db}\napi: {}\n" + snippet
    with pytest.raises(ConfigError) as info:
        parse_config(text, "t.yaml")
    rendered = [str(i) for i in info.value.issues]
    assert any(r.startswith(f"t.yaml:{line}: {path}") and message in r for r in rendered), rendered


def test_yaml_syntax_error_has_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("site: {id: s}\nstorage: [\n", "bad.yaml")
    assert str(info.value).startswith("bad.yaml:")


def test_relative_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "edge.yaml"
    path.write_text("site: {id: s}\nstorage: {path: data/edge.db}\napi: {tokens_file: tokens.yaml}\n")
    cfg = load_config(path)
    assert cfg.storage.path == tmp_path / "sub" / "data" / "edge.db"
    assert cfg.api.tokens_file == tmp_path / "sub" / "tokens.yaml"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
