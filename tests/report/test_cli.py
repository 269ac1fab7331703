"""`edge report daily` end to end: a real config and store, the files written, exit codes."""

from __future__ import annotations

import csv
import hashlib
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.helpers import REPO, edge_cmd
from tests.report import scripted

CONFIG = """\
site: {{id: sch-0001, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {db}}}
api: {{listen: "127.0.0.1:18080"}}
cameras:
  - {{id: cam-a, name: 南门枪机, onvif: "http://192.0.2.64/onvif/device_service", key_area: true}}
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = edge_cmd("report", "daily", *args)
    return subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_cli_writes_the_report(tmp_path: Path) -> None:
    db = scripted.fill(tmp_path / "edge.db")
    config = tmp_path / "edge.yaml"
    config.write_text(CONFIG.format(db=db), encoding="utf-8")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out = tmp_path / "out"
    proc = _run("-c", str(config), "--date", "2026-11-21", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    stem = out / "edge-report-2026-11-21"
    written = [Path(line) for line in proc.stdout.split()]
    assert written == [Path(f"{stem}.html")] + [Path(f"{stem}-{t}.csv") for t in
                                                 ("summary", "devices", "outages", "alarms", "tests")]  # fmt: skip
    page = written[0].read_text(encoding="utf-8")
    assert "第一实验小学" in page and "97.14 %" in page and "http" not in page
    summary = {row[0]: row[2] for row in csv.reader(written[1].open(encoding="utf-8-sig"))}
    # the config marks cam-a as a key area: both short cameras are now key-area ones
    assert summary["retention_key_area"] == "0/2" and summary["retention_regular"] == "1/1"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # read-only


def test_cli_default_date_and_format(tmp_path: Path) -> None:
    db = scripted.fill(tmp_path / "edge.db")
    config = tmp_path / "edge.yaml"
    config.write_text(CONFIG.format(db=db), encoding="utf-8")
    proc = _run("-c", str(config), "--format", "csv", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date().isoformat()
    assert proc.stdout.split()[0].endswith(f"edge-report-{yesterday}-summary.csv")
    assert not list(tmp_path.glob("*.html"))


def test_cli_errors(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "missing.db"), encoding="utf-8")
    proc = _run("-c", str(config), "--date", "2026-11-21", "--out", str(tmp_path))
    assert proc.returncode == 1 and "no store" in proc.stderr
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    proc = _run("-c", str(config), "--date", "2026-11-21", "--store", str(garbage), "--out", str(tmp_path))
    assert proc.returncode == 1 and "cannot read store" in proc.stderr
    future = _run("-c", str(config), "--date", "2999-01-01")
    assert future.returncode == 2 and "has not begun" in future.stderr
    assert _run("-c", str(config), "--format", "pdf").returncode == 2
    assert _run("-c", str(config), "--date", "21/11/2026").returncode == 2
    config.write_text("site: {id: x}\n", encoding="utf-8")
    bad = _run("-c", str(config))
    assert bad.returncode == 2 and "storage" in bad.stderr
