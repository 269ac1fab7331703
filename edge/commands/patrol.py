"""`edge patrol import FILE.csv -c FILE` and `edge patrol qr-sheet -c FILE --url URL`."""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import segno

from edge.config import Config, ConfigError, load_config
from edge.config.patrol import Patrol
from edge.events import now_ms
from edge.patrol.csv_import import CsvError, decode, parse_csv
from edge.store import Database, StoreError
from edge.store.patrol import insert_checkins

DEFAULT_CONFIG = "/etc/edge/edge.yaml"


def _config(path: str) -> Config | None:
    try:
        config = load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return None
    if config.patrol is None:
        print(f"{path}: no 'patrol' section / 配置中没有巡查（patrol）部分", file=sys.stderr)
        return None
    return config


def _import(args: argparse.Namespace) -> int:
    config = _config(args.config)
    if config is None or config.patrol is None:
        return 2
    try:
        text = decode(Path(args.file).read_bytes())
        checkins, problems = parse_csv(text, config.patrol, ZoneInfo(config.site.timezone), now_ms())
    except (OSError, CsvError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"{args.file}:{p.line}: {p.message}", file=sys.stderr)
    added = 0
    if checkins and not args.dry_run:
        # A direct write, not through the daemon: SQLite serialises it with the daemon's writer
        # (WAL, busy timeout), and patrol rows are owned by no rule, so nothing is decided behind its back.
        try:
            db = Database(config.storage.path)
        except StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            with db.tx() as conn:
                added = insert_checkins(conn, checkins, now_ms())
        finally:
            db.close()
    dupes = len(checkins) - added if not args.dry_run else 0
    print(
        f"导入 {added} 条，重复忽略 {dupes} 条，错误 {len(problems)} 行 / "
        f"imported {added}, duplicates ignored {dupes}, bad rows {len(problems)}"
        + (" (dry run: nothing written / 试运行，未写入)" if args.dry_run else "")
    )
    return 1 if problems else 0


def scan_url(base: str, tag: str) -> str:
    return f"{base.rstrip('/')}/patrol/scan?tag={quote(tag, safe='')}"


def qr_sheet_html(config: Config, patrol: Patrol, base: str) -> str:
    """A printable page: one QR per checkpoint, its name and place; a guard's phone opens the scan page."""
    cards = []
    for cp in patrol.checkpoints:
        svg = segno.make(scan_url(base, cp.tag), error="m").svg_inline(scale=6, border=2)
        cards.append(
            f'<div class="card">{svg}<h2>{html.escape(cp.name)}</h2>'
            f"<p>{html.escape(cp.location)}</p><p class=id>{html.escape(cp.id)}</p></div>"
        )
    title = html.escape(f"{config.site.name or config.site.id} 巡查点二维码 / patrol checkpoint QR codes")
    return (
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font-family:sans-serif}.card{display:inline-block;width:30%;margin:1%;padding:8px;"
        "border:1px dashed #888;text-align:center;page-break-inside:avoid}h2{margin:4px 0;font-size:18px}"
        "p{margin:2px 0}.id{color:#666;font-size:12px}</style>"
        f"<h1>{title}</h1><p>用手机扫码后登录确认打卡 / scan with a phone, log in, confirm.</p>"
        + "".join(cards)
        + "</html>"
    )


def _qr_sheet(args: argparse.Namespace) -> int:
    config = _config(args.config)
    if config is None or config.patrol is None:
        return 2
    base = args.url or f"http://{config.api.listen}"
    if config.api.host in ("127.0.0.1", "localhost", "::1") and not args.url:
        print(
            f"注意：api.listen 为 {config.api.listen}，手机无法访问；请用 --url 指定网关在校园网中的地址 / "
            "warning: the API listens on loopback, phones cannot reach it; pass --url http://GATEWAY-IP:PORT",
            file=sys.stderr,
        )
    out = Path(args.out)
    out.write_text(qr_sheet_html(config, config.patrol, base), encoding="utf-8")
    print(f"{out}: {len(config.patrol.checkpoints)} 个巡查点 / checkpoints")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    patrol = subparsers.add_parser("patrol", help="patrol records / 巡查记录")
    sub = patrol.add_subparsers(dest="patrol_command", required=True)
    p = sub.add_parser("import", help="import a patrol-stick download (CSV)")
    p.add_argument("file")
    p.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    p.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    p.set_defaults(handler=_import)
    p = sub.add_parser("qr-sheet", help="a printable page of checkpoint QR codes")
    p.add_argument("-c", "--config", default=DEFAULT_CONFIG)
    p.add_argument("--url", help="the gateway as phones on the school LAN reach it, e.g. http://10.0.0.5:8080")
    p.add_argument("-o", "--out", default="patrol-qr.html")
    p.set_defaults(handler=_qr_sheet)
