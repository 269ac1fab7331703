"""`edge commission report` exits 1 when anything failed, as the README says (#14), on a real store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.cli import main
from tests.report import scripted


def _config(tmp_path: Path, store: Path) -> Path:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"site: {{id: sch-0001, timezone: {scripted.TZ}}}\nstorage: {{path: {store}}}\napi: {{}}\n"
        "mqtt: {url: 'mqtt://127.0.0.1:1883'}\n"
        "buttons:\n  - {id: btn-m, name: 宿舍A一键报警, location: 宿舍A, zone: 2, transport: mqtt}\n"
    )
    return cfg


def test_a_test_press_without_police_ack_fails_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = scripted.fill(tmp_path / "edge.db")
    rc = main(["commission", "report", "-c", str(_config(tmp_path, store))])
    captured = capsys.readouterr()
    assert rc == 1
    assert "[不通过 FAIL] button btn-m" in captured.out and "未发送 not relayed" in captured.out
    assert "1 不通过 failed" in captured.out and "some devices failed" in captured.err
    assert "run test-alarm again" in captured.out


def test_an_acked_test_press_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = scripted.fill(tmp_path / "edge.db")
    with sqlite3.connect(store) as conn:
        (event_id,) = conn.execute("SELECT id FROM events WHERE test = 1 AND kind = 'alarm.press'").fetchone()
        conn.execute(
            "INSERT INTO outbox (event_id, transport, message, created_ms, state, receiver, acked_ms) "
            "VALUES (?, 'dc09', '', 0, 'delivered', ?, ?)",
            (event_id, scripted.PRIMARY, scripted.at(9, 45) + 300),
        )
    rc = main(["commission", "report", "-c", str(_config(tmp_path, store))])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "[通过 PASS] button btn-m" in out and "300 ms" in out


def test_camera_results_are_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = scripted.fill(tmp_path / "edge.db")
    cfg = _config(tmp_path, store)
    cfg.write_text(
        cfg.read_text() + "cameras:\n  - {id: cam-k, name: 校门重点, onvif: 'http://192.0.2.9/onvif/device_service', "
        "key_area: true}\n"
    )
    rc = main(["commission", "report", "-c", str(cfg)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "[不通过 FAIL] camera cam-k" in out
    assert "图像 quality: 不合格 fail (黑屏 black, 遮挡 covered)" in out
    assert "录像 retention: 不足 short (60/90 d)" in out
