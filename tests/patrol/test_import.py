"""`edge patrol import`: both layouts (one GBK, as Windows cradle software writes it), bad rows named by
line, a re-import ignored; then the day's verdict in `GET /api/v1/patrol`'s data and the daily report."""

from __future__ import annotations

import csv
import subprocess
from datetime import date
from pathlib import Path

from edge.cli import main
from edge.config import load_config
from edge.patrol.day import load_day
from edge.store import Database
from tests.helpers import edge_cmd

CONFIG = """\
site: {{id: sch-1, name: 第一实验小学, timezone: Asia/Shanghai}}
storage: {{path: {dir}/edge.db}}
api: {{listen: "127.0.0.1:8080"}}
patrol:
  checkpoints:
    - {{id: cp-gate, name: 南门, location: 南门岗亭, tag: "04A1B2C3D4"}}
    - {{id: cp-lab, name: 实验楼, tag: "04A1B2C3D5"}}
  plans:
    - {{id: key-areas, name: 重点部位, checkpoints: [cp-gate, cp-lab], rounds_per_day: 5, window: "06:00-22:00",
       round_minutes: 30}}
"""

# 刷卡记录 layout, GBK: rounds at 07, 09, 11 (and a broken row: unknown tag, another: bad time).
RECORD = """序号,巡检员,巡检点,卡号,刷卡时间
1,张三,南门,04A1B2C3D4,2026-12-01 07:00:05
2,张三,实验楼,04a1b2c3d5,2026-12-01 07:06:40
3,张三,南门,04A1B2C3D4,2026-12-01 09:00:00
4,张三,实验楼,04A1B2C3D5,2026-12-01 09:10:00
5,张三,操场,FFFF0000,2026-12-01 09:20:00
6,张三,南门,04A1B2C3D4,2026-12-01 25:00:00
7,李四,南门,04A1B2C3D4,2026-12-01 11:00:00
8,李四,实验楼,04A1B2C3D5,2026-12-01 11:02:00
"""

# Raw stick dump, English, UTF-8 with BOM: rounds at 13 and 15 (a blank line and a row with no time).
RAW = """\ufeffReader,Tag,Date,Time
0007,04A1B2C3D4,2026/12/01,13:00:00

0007,04A1B2C3D5,2026/12/01,13:20:00
0007,04A1B2C3D4,2026/12/01,
0007,04A1B2C3D4,2026/12/01,15:00:00
0007,04A1B2C3D5,2026/12/01,15:05:00
"""


def _setup(tmp: Path) -> Path:
    cfg = tmp / "edge.yaml"
    cfg.write_text(CONFIG.format(dir=tmp), encoding="utf-8")
    (tmp / "record.csv").write_bytes(RECORD.encode("gbk"))
    (tmp / "raw.csv").write_text(RAW, encoding="utf-8")
    Database(tmp / "edge.db").close()  # the daemon would have created it
    return cfg


def test_import_both_layouts(tmp_path: Path, capsys: object) -> None:
    cfg = _setup(tmp_path)
    rec, raw = str(tmp_path / "record.csv"), str(tmp_path / "raw.csv")
    proc = subprocess.run(
        edge_cmd("patrol", "import", rec, "-c", str(cfg)), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1  # imported, but two rows were bad
    assert f"{rec}:6: unknown tag 'FFFF0000'" in proc.stderr
    assert f"{rec}:7: time '2026-12-01 25:00:00'" in proc.stderr
    assert "imported 6, duplicates ignored 0, bad rows 2" in proc.stdout
    assert main(["patrol", "import", raw, "-c", str(cfg)]) == 1
    again = subprocess.run(
        edge_cmd("patrol", "import", raw, "-c", str(cfg)), capture_output=True, text=True, check=False
    )
    assert "imported 0, duplicates ignored 4, bad rows 1" in again.stdout
    assert f"{raw}:5: time '2026/12/01' is not" in again.stderr

    config = load_config(cfg)
    db = Database(config.storage.path)
    try:
        plans, checkins = load_day(db, config, date(2026, 12, 1), now_ms=1_900_000_000_000)
    finally:
        db.close()
    assert len(checkins) == 10
    (plan,) = plans
    assert [str(r.status) for r in plan.rounds] == ["complete"] * 5
    assert plan.rounds[2].guards == ["李四"] and plan.rounds[3].guards == ["巡更棒 0007"]
    assert plan.walked == 5 and str(plan.verdict) == "pass"

    out = tmp_path / "report"
    assert main(["report", "daily", "-c", str(cfg), "--date", "2026-12-01", "--out", str(out)]) == 0
    html = (out / "edge-report-2026-12-01.html").read_text(encoding="utf-8")
    assert "巡查记录" in html and "达标 pass" in html and "巡更棒 0007" in html
    with (out / "edge-report-2026-12-01-patrol.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[1][:6] == ["key-areas", "5", "5", "pass", "1", "complete"] and len(rows) == 6


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,when\n南门,2026-12-01 07:00\n", encoding="utf-8")
    proc = subprocess.run(
        edge_cmd("patrol", "import", str(bad), "-c", str(cfg)), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "no tag column" in proc.stderr
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x81\x30\xff\xfe\x00" * 10)
    proc = subprocess.run(
        edge_cmd("patrol", "import", str(binary), "-c", str(cfg)), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
