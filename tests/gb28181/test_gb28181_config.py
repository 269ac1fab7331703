"""The gb28181 section and the channel IDs: defaults, strict keys, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigError, load_config

BASE = """\
site: {id: s1, name: 测试学校}
storage: {path: /tmp/gb.db}
api: {listen: "127.0.0.1:8080"}
mqtt: {url: "mqtt://127.0.0.1:1883"}
cameras:
  - {id: cam-gate, name: 南门, onvif: http://192.0.2.1/onvif/device_service, gb28181_id: "%(cam)s"}
buttons:
  - {id: b1, name: 南门按钮, zone: 1, transport: mqtt, camera: cam-gate, gb28181_id: "%(btn)s"}
gb28181:
  server_id: "34020000002000000001"
  server: "%(server)s"
  device_id: "34020000001180000001"
%(extra)s"""


def write(tmp: Path, **kw: str) -> Path:
    values = {"cam": "34020000001320000001", "btn": "34020000001340000001", "server": "udp://192.0.2.50:5060"}
    values["extra"] = ""
    values.update(kw)
    path = tmp / "edge.yaml"
    path.write_text(BASE % values, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path)).gb28181
    assert cfg is not None
    assert (cfg.realm, cfg.scheme, cfg.host, cfg.port) == ("3402000000", "udp", "192.0.2.50", 5060)
    assert (cfg.local_port, cfg.expires, cfg.keepalive_interval, cfg.keepalive_timeout_count) == (5060, 3600, 60, 3)
    assert (cfg.charset, cfg.max_streams, cfg.password_file) == ("GB2312", 4, None)


def test_tcp_and_domain(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, server="tcp://[::1]:15060", extra='  domain: "3401000000"\n')).gb28181
    assert cfg is not None and (cfg.scheme, cfg.host, cfg.port, cfg.realm) == ("tcp", "::1", 15060, "3401000000")


@pytest.mark.parametrize(
    ("kw", "line", "needle"),
    [
        ({"server": "http://192.0.2.50"}, 11, "gb28181.server: Value error, must be udp://HOST:PORT"),
        ({"cam": "3402000000132000001"}, 6, "cameras[0].gb28181_id: String should match pattern"),
        ({"cam": "34020000001340000009"}, 6, "digits 11-13 are the device type and must be 131 or 132"),
        ({"btn": "34020000001320000009"}, 8, "must be 134 (not 132)"),
        ({"btn": "34020000001180000001"}, 8, "must be 134"),
        ({"extra": "  charset: BIG5\n"}, 13, "gb28181.charset: Input should be 'GB2312' or 'UTF-8'"),
        ({"extra": "  keepalive_intervall: 5\n"}, 13, "gb28181.keepalive_intervall: unknown key"),
        ({"extra": "  expires: 5\n"}, 13, "gb28181.expires: Input should be greater than or equal to 10"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, kw: dict[str, str], line: int, needle: str) -> None:
    path = write(tmp_path, **kw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = "\n".join(str(i) for i in info.value.issues)
    assert f"{path}:{line}:" in text and needle in text, text


def test_duplicate_channel_ids(tmp_path: Path) -> None:
    path = write(tmp_path, btn="34020000001340000001")
    text = path.read_text().replace(
        'camera: cam-gate, gb28181_id: "34020000001340000001"}',
        "camera: cam-gate, "
        'gb28181_id: "34020000001340000001"}\n  - {id: b2, name: x, zone: 2, '
        'transport: mqtt, gb28181_id: "34020000001340000001"}',
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "34020000001340000001 is already used by buttons[0]" in str(info.value.issues[0])
