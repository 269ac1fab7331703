"""`edge backup FILE [-c CONFIG]` and `edge restore FILE [--list]`: the store plus config, see edge.store.backup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.config import ConfigError, load_config
from edge.store.backup import BackupError, Manifest, make_backup, read_manifest, restore_backup
from edge.store.lock import StoreLocked

# Where the Debian package puts the config; a gateway operator types just `edge backup FILE`.
DEFAULT_CONFIG = Path("/etc/edge/edge.yaml")


def _describe(m: Manifest) -> None:
    print(f"  时间 created:   {m.created} (edge {m.edge_version}, store schema v{m.schema_version})")
    print(f"  数据库 store:   {m.store}")
    for path in m.files:
        print(f"  文件 file:      {path}")


def _backup(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    try:
        manifest = make_backup(Path(args.config), config, Path(args.file))
    except (BackupError, OSError) as exc:
        print(f"edge backup: {exc}", file=sys.stderr)
        return 1
    print(f"备份完成 / backup written: {args.file}")
    _describe(manifest)
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        manifest = read_manifest(Path(args.file)) if args.list else restore_backup(Path(args.file))
    except StoreLocked as exc:
        print(
            f"edge restore: 守护进程正在运行，请先停止 (systemctl stop edge) / the store is in use by {exc.holder}: "
            "stop the daemon first",
            file=sys.stderr,
        )
        return 1
    except (BackupError, OSError) as exc:
        print(f"edge restore: {exc}", file=sys.stderr)
        return 1
    print(("备份内容 / backup holds:" if args.list else "已恢复 / restored:") + f" {args.file}")
    _describe(manifest)
    if not args.list:
        print(f"  原数据库已保存 / previous store kept as {manifest.store}.pre-restore.bak")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backup", help="back up the store and config / 备份数据库与配置")
    p.add_argument("file", help="archive to write (tar; holds secrets, written mode 0600)")
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help=f"YAML config file (default {DEFAULT_CONFIG})")
    p.set_defaults(handler=_backup)
    p = sub.add_parser("restore", help="restore a backup; the daemon must be stopped / 恢复备份")
    p.add_argument("file", help="archive written by `edge backup`")
    p.add_argument("--list", action="store_true", help="only show what the archive holds")
    p.set_defaults(handler=_restore)
