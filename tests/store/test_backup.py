"""`edge backup` / `edge restore`: a consistent copy under a live writer, a faithful restore, and no
restore while a daemon holds the store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from edge.api.tokens import Role, create_token
from edge.store import Database
from tests.helpers import REPO, daemon_process, edge_cmd, free_port, minimal_config

WRITER = Path(__file__).with_name("backup_writer.py")


def _edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(edge_cmd(*args), cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def _site(tmp: Path) -> tuple[Path, Path]:
    port = free_port()
    tokens = tmp / "tokens.yaml"
    config = minimal_config(tmp, port, name="备份学校")
    config.write_text(
        config.read_text(encoding="utf-8").replace(f'"127.0.0.1:{port}"', f'"127.0.0.1:{port}", tokens_file: {tokens}'),
        encoding="utf-8",
    )
    create_token(tokens, "duty", Role.OPERATOR, cost=1024)
    Database(tmp / "edge.db").conn.close()  # the schema, as a daemon's first start leaves it
    return config, tmp / "edge.db"


def _counts(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        audit = conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        return int(events), int(audit)
    finally:
        conn.close()


def test_backup_under_a_live_writer_is_consistent(tmp_path: Path) -> None:
    config, db = _site(tmp_path)
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        archives = []
        for i in range(3):
            time.sleep(0.2)
            archive = tmp_path / f"b{i}.tar"
            out = _edge("backup", str(archive), "-c", str(config))
            assert out.returncode == 0, out.stderr
            archives.append(archive)
    finally:
        writer.kill()
        writer.wait()
    seen = []
    for archive in archives:
        assert archive.stat().st_mode & 0o777 == 0o600  # it holds the tokens file and secrets
        dest = tmp_path / f"{archive.stem}-x"
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            tar.extractall(dest, filter="data")
        manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["store"] == str(db)
        assert "files" + str(config) in names and "files" + str(tmp_path / "tokens.yaml") in names
        copy = dest / "store.db"
        assert not (dest / "store.db-wal").exists()
        events, audit = _counts(copy)
        assert events == audit > 0  # never half a transaction
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        seen.append(events)
    assert seen == sorted(seen) and seen[0] < seen[-1]  # taken while the writer went on


def test_restore_brings_back_store_config_and_tokens(tmp_path: Path) -> None:
    config, db = _site(tmp_path)
    tokens = tmp_path / "tokens.yaml"
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO audit (ts_ms, actor, action, target) VALUES (1, 'op', 'before', 'x')")
    conn.commit()
    conn.close()
    archive = tmp_path / "site.tar"
    assert _edge("backup", str(archive), "-c", str(config)).returncode == 0
    config_text, tokens_text = config.read_text(encoding="utf-8"), tokens.read_text(encoding="utf-8")
    # After the backup: more rows (left in the WAL by a connection still open), a new config, a lost token.
    late = sqlite3.connect(db)
    late.execute("PRAGMA journal_mode = WAL")
    late.execute("INSERT INTO audit (ts_ms, actor, action, target) VALUES (2, 'op', 'after', 'x')")
    late.commit()
    config.write_text(config_text.replace("备份学校", "别的学校"), encoding="utf-8")
    tokens.unlink()
    late.close()

    out = _edge("restore", str(archive))
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout
    assert config.read_text(encoding="utf-8") == config_text
    assert tokens.read_text(encoding="utf-8") == tokens_text
    rows = [r[0] for r in sqlite3.connect(db).execute("SELECT action FROM audit ORDER BY seq")]
    assert rows == ["before"]
    kept = [r[0] for r in sqlite3.connect(tmp_path / "edge.db.pre-restore.bak").execute("SELECT action FROM audit")]
    assert kept == ["before", "after"]
    assert _edge("check-config", "-c", str(config)).returncode == 0
    listed = _edge("restore", "--list", str(archive))
    assert listed.returncode == 0 and str(tokens) in listed.stdout


def test_restore_refuses_while_the_daemon_runs(tmp_path: Path) -> None:
    config, _db = _site(tmp_path)
    archive = tmp_path / "site.tar"
    assert _edge("backup", str(archive), "-c", str(config)).returncode == 0
    port = int(config.read_text(encoding="utf-8").split("127.0.0.1:")[1].split('"')[0])
    with daemon_process(config, port):
        out = _edge("restore", str(archive))
        assert out.returncode == 1
        assert "stop the daemon first" in out.stderr and "edge run" in out.stderr
        # A backup is fine meanwhile: that is what the online backup is for.
        assert _edge("backup", str(tmp_path / "live.tar"), "-c", str(config)).returncode == 0
        # And so is a second daemon on the same store refused.
        second = _edge("run", "-c", str(config))
        assert second.returncode == 1 and "in use" in second.stderr
    assert _edge("restore", str(archive)).returncode == 0


def test_restore_rejects_what_it_cannot_use(tmp_path: Path) -> None:
    config, db = _site(tmp_path)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file" * 10)
    out = _edge("restore", str(junk))
    assert out.returncode == 1 and "not an edge backup" in out.stderr
    # A backup from a newer edge (a later schema) is refused before anything is touched.
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_version VALUES (999, 0)")
    conn.commit()
    conn.close()
    archive = tmp_path / "newer.tar"
    assert _edge("backup", str(archive), "-c", str(config)).returncode == 0
    before = db.read_bytes()
    out = _edge("restore", str(archive))
    assert out.returncode == 1 and "v999" in out.stderr
    assert db.read_bytes() == before
