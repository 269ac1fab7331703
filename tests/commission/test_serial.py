"""`edge commission serial` against the pymodbus simulator on a virtual RS-485 line (socat and Python ptys)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from edge.cli import main
from edge.commission.serial_scan import format_scan, parse_units, scan, suggest_yaml
from edge.config import load_config
from edge.sim.modbus import ModbusSim
from edge.sim.pty_pair import serial_pair


@pytest.fixture(params=["socat", "pty"])
async def line(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[ModbusSim, Path]]:
    pair = serial_pair(tmp_path / "sim", tmp_path / "edge", prefer_socat=request.param == "socat")
    sim = ModbusSim()
    await sim.start(tmp_path / "sim", [1, 3, 7])
    yield sim, tmp_path / "edge"
    await sim.stop()
    pair.stop()


async def test_scan_finds_units_inputs_and_error_rate(line: tuple[ModbusSim, Path]) -> None:
    sim, port = line
    sim.press(3, 2)
    sim.set_input(7, 0, True)  # a normally-closed contact reads 1 at rest
    sim.inject("crc", 1, unit=1)  # one garbled reply from unit 1: it must still be found
    res = await scan(str(port), parse_units("1-8"), reply_timeout=0.1, samples=4)
    assert [u.unit for u in res.found] == [1, 3, 7]
    by_unit = {u.unit: u for u in res.found}
    assert [i for i, on in enumerate(by_unit[3].inputs) if on] == [2]
    assert by_unit[1].failures == 1 and by_unit[3].failures == 0
    answered_reads = sum(u.reads for u in res.found)
    assert res.error_rate == pytest.approx(1 / answered_reads)


async def test_suggested_yaml_is_a_valid_config(line: tuple[ModbusSim, Path], tmp_path: Path) -> None:
    sim, port = line
    sim.set_input(7, 0, True)
    res = await scan(str(port), [1, 7], reply_timeout=0.1, samples=1)
    text = suggest_yaml(res, "bus9", per_unit=2)
    doc = YAML(typ="safe").load(text)
    inputs = {b["id"]: b["input"] for b in doc["buttons"]}
    assert inputs["bus9-u7-b1"] == {"type": "discrete_input", "address": 0, "inverted": True}
    assert inputs["bus9-u1-b2"] == {"type": "discrete_input", "address": 2}
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"site: {{id: s}}\nstorage: {{path: {tmp_path}/e.db}}\napi: {{}}\n{text}\n")
    config = load_config(cfg)
    assert [b.zone for b in config.buttons] == [1, 2, 3, 4]


async def test_cli_output(line: tuple[ModbusSim, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sim, port = line
    sim.press(1, 0)
    argv = ["commission", "serial", "--port", str(port), "--units", "1-4", "--timeout", "0.5", "--samples", "2"]
    rc = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert rc == 0
    assert "地址 unit 1: 输入 inputs 1000000000000000" in out and "地址 unit 3" in out and "unit 2" not in out
    assert "line error rate: 0.0%" in out and "serial_buses:" in out


async def test_nobody_answers_is_exit_1(line: tuple[ModbusSim, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, port = line
    rc = await asyncio.to_thread(
        main, ["commission", "serial", "--port", str(port), "--units", "20-21", "--timeout", "0.05"]
    )
    assert rc == 1 and "nobody answered" in capsys.readouterr().out


def test_unit_ranges() -> None:
    assert parse_units("1-3,7,5-5") == [1, 2, 3, 5, 7]
    for bad in ("0-3", "5-2", "1-300", "x"):
        with pytest.raises(ValueError):
            parse_units(bad)


def test_missing_port_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["commission", "serial", "--port", str(tmp_path / "nope"), "--units", "1"])
    assert rc == 1 and "error" in capsys.readouterr().err


async def test_unit_whose_first_replies_fail_crc_is_found_and_counted(line: tuple[ModbusSim, Path]) -> None:
    """Garbled replies prove somebody is there: a unit must not be called absent for CRC errors (#12 item 10)."""
    sim, port = line
    sim.inject("crc", 3, unit=3)  # the first three replies of unit 3 all fail their CRC
    res = await scan(str(port), parse_units("1-4"), reply_timeout=0.1, samples=4)
    by_unit = {u.unit: u for u in res.found}
    assert sorted(by_unit) == [1, 3]
    assert by_unit[3].crc_errors == 3 and by_unit[3].failures == 3 and by_unit[3].reads == 5
    assert res.error_rate == pytest.approx(3 / 10)
    text = format_scan(res)
    assert "线路误码率 line error rate: 30.0%" in text and "CRC 3" in text
    assert "检查终端电阻" in text


async def test_unit_answering_only_garbled_replies_is_shown(line: tuple[ModbusSim, Path]) -> None:
    sim, port = line
    sim.inject("crc", 10, unit=7)
    res = await scan(str(port), [7], reply_timeout=0.1, samples=2)
    (unit,) = res.found
    assert unit.unit == 7 and unit.crc_errors == 3 and unit.reads == 3 and not unit.good
    text = format_scan(res)
    assert "只有校验错误的应答" in text and "100.0%" in text
    # No inputs were ever read: no config lines are suggested for it.
    assert "unit: 7" not in suggest_yaml(res)
