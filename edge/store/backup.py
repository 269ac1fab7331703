"""`edge backup` / `edge restore`: the store (SQLite online backup) plus the config and the files it names.

The archive is a tar file: `manifest.json`, `store.db` (a consistent single-file copy made with SQLite's
backup API, so a running daemon keeps writing meanwhile) and `files/<absolute path>` for the config, the
tokens file and every secret file the config names. Restore puts each back where it was recorded, after
keeping the store it replaces as `<store>.pre-restore.bak`, and only while no daemon holds the store.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import __version__
from edge.config import Config
from edge.store.lock import StoreLock
from edge.store.migrations import MIGRATIONS

FORMAT = 1
MANIFEST = "manifest.json"
STORE_MEMBER = "store.db"


class BackupError(Exception):
    """The backup could not be made, or the archive cannot be restored."""


@dataclass(frozen=True)
class Manifest:
    created: str
    edge_version: str
    schema_version: int
    store: Path
    config: Path
    files: list[Path]

    def to_json(self) -> bytes:
        data = {
            "format": FORMAT,
            "created": self.created,
            "edge_version": self.edge_version,
            "schema_version": self.schema_version,
            "store": str(self.store),
            "config": str(self.config),
            "files": [str(p) for p in self.files],
        }
        return json.dumps(data, ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BackupError(f"unknown backup format {data.get('format')!r} (this edge reads {FORMAT})")
            return cls(
                created=str(data["created"]),
                edge_version=str(data["edge_version"]),
                schema_version=int(data["schema_version"]),
                store=Path(data["store"]),
                config=Path(data["config"]),
                files=[Path(p) for p in data["files"]],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"bad manifest: {exc}") from exc


def _member(path: Path) -> str:
    return "files" + str(path.resolve())


def _check_db(path: Path) -> int:
    """integrity_check, and the schema version the file holds."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"{path}: integrity_check: {verdict}")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: {exc}") from exc
    finally:
        conn.close()


def copy_store(store: Path, dest: Path) -> None:
    """A consistent copy of a live WAL database, as one self-contained file."""
    if not store.exists():
        raise BackupError(f"store {store} does not exist")
    src = sqlite3.connect(store)
    try:
        out = sqlite3.connect(dest)
        try:
            # One step (pages=-1): the copy is one read transaction, a snapshot the daemon's writes don't touch.
            src.backup(out, pages=-1)
            out.execute("PRAGMA journal_mode = DELETE")
        finally:
            out.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy store {store}: {exc}") from exc
    finally:
        src.close()


def make_backup(config_path: Path, config: Config, dest: Path) -> Manifest:
    files = [config_path.resolve(), *(p.resolve() for p in config.secret_paths() if p.exists())]
    files = list(dict.fromkeys(files))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".edge-backup-") as tmp:
        copy = Path(tmp) / STORE_MEMBER
        copy_store(config.storage.path, copy)
        manifest = Manifest(
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            edge_version=__version__,
            schema_version=_check_db(copy),
            store=config.storage.path.resolve(),
            config=config_path.resolve(),
            files=files,
        )
        partial = Path(tmp) / "backup.tar"
        # The archive holds secrets (tokens' hashes, keys): readable by its owner only.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            info = tarfile.TarInfo(MANIFEST)
            raw = manifest.to_json()
            info.size, info.mtime, info.mode = len(raw), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(raw))
            tar.add(copy, arcname=STORE_MEMBER)
            for path in files:
                tar.add(path, arcname=_member(path), recursive=False)
            fh.flush()
            os.fsync(fh.fileno())
        partial.replace(dest)
    return manifest


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, mode="r") as tar:
            fh = tar.extractfile(MANIFEST)
            if fh is None:
                raise BackupError(f"{archive}: no {MANIFEST}")
            return Manifest.from_json(fh.read())
    except (OSError, tarfile.TarError, KeyError) as exc:
        raise BackupError(f"{archive}: not an edge backup: {exc}") from exc


def _write_like(tar: tarfile.TarFile, name: str, target: Path) -> None:
    """Replace `target` atomically; an existing file keeps its owner and mode, a new one gets the recorded."""
    info = tar.getmember(name)
    src = tar.extractfile(info)
    if src is None or not info.isfile():
        raise BackupError(f"{name}: not a regular file in the archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.stat() if target.exists() else None
    fd, name_ = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    tmp = Path(name_)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(old.st_mode & 0o7777 if old else info.mode)
        if os.geteuid() == 0:
            os.chown(tmp, old.st_uid if old else info.uid, old.st_gid if old else info.gid)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def restore_backup(archive: Path) -> Manifest:
    manifest = read_manifest(archive)
    newest = MIGRATIONS[-1][0]
    if manifest.schema_version > newest:
        raise BackupError(
            f"{archive} holds store schema v{manifest.schema_version}; this edge knows up to v{newest}: "
            "install the edge version that made it"
        )
    store = manifest.store
    # Held until done: a daemon started meanwhile finds the store locked and exits instead of reading half a restore.
    with StoreLock(store, "edge restore"), tarfile.open(archive, mode="r") as tar:
        with tempfile.TemporaryDirectory(dir=store.parent, prefix=".edge-restore-") as tmp:
            staged = Path(tmp) / STORE_MEMBER
            member = tar.extractfile(STORE_MEMBER)
            if member is None:
                raise BackupError(f"{archive}: no {STORE_MEMBER}")
            with staged.open("wb") as out:
                shutil.copyfileobj(member, out)
            _check_db(staged)
            if store.exists():
                copy_store(store, store.with_name(store.name + ".pre-restore.bak"))
            # The old database's WAL and index must go first: replayed onto the restored file they would corrupt it.
            for suffix in ("-wal", "-shm"):
                store.with_name(store.name + suffix).unlink(missing_ok=True)
            _write_like(tar, STORE_MEMBER, store)
        for path in manifest.files:
            _write_like(tar, _member(path), path)
    return manifest
