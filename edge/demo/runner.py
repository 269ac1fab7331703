"""`edge demo`: bring the simulated school up, start the daemon on it, print where to look, stop cleanly.

Order matters both ways: simulators first (the config needs their ports), then the daemon as a child
process on the generated config; on Ctrl-C / SIGTERM the daemon stops first (so it records no
spurious outage of devices that are merely shutting down), then the simulators, in a `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import TextIO

import httpx

from edge.api.tokens import Role, create_token, revoke_token
from edge.api.users import add_user, list_users, set_disabled, set_password
from edge.commands.patrol import qr_sheet_html, scan_url
from edge.config import ConfigError, load_config
from edge.demo.maps import upload_maps
from edge.demo.plan import CAMERA_PASSWORD, GB_CAMERAS, build_config, load_defaults, write_yaml
from edge.demo.procs import Child
from edge.demo.scenario import Scenario
from edge.demo.site import DemoSite

log = logging.getLogger(__name__)

# The daemon answers /healthz within a second or two; a cold start on a slow box may take longer.
READY_TIMEOUT_S = 30.0
DRAIN_S = 2.0  # closed sockets end their handlers within milliseconds; this only bounds a stuck one
DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


def say(text: str) -> None:
    print(text, flush=True)


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def _token(path: Path, name: str, role: Role) -> str:
    revoke_token(path, name)  # a re-run in the same state dir replaces the demo's own tokens
    return create_token(path, name, role)


# People of the demo school, who log in with a name and a password (printed in the banner).
DEMO_USERS = (
    ("guard", Role.GUARD, "值班保安"),
    ("operator", Role.OPERATOR, "值班员"),
    ("tech", Role.TECHNICIAN, "技术员"),
)


def _credentials(state: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The demo's API tokens (machines, scripts) and its people's passwords."""
    tokens_file = state / "tokens.yaml"
    tokens = {
        "operator": _token(tokens_file, "demo-operator", Role.OPERATOR),
        "technician": _token(tokens_file, "demo-technician", Role.TECHNICIAN),
        "guard": _token(tokens_file, "值班保安 王师傅", Role.GUARD),
    }
    return tokens, _users(state / "users.yaml")


def _users(path: Path) -> dict[str, str]:
    """Fresh passwords for the demo's accounts on every start (a re-run replaces them)."""
    passwords = {}
    known = {u.name for u in list_users(path)}
    for name, role, _label in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        if name in known:
            set_password(path, name, password)
            set_disabled(path, name, False)
        else:
            add_user(path, name, role, password)
        passwords[name] = password
    return passwords


async def _wait_ready(url: str, daemon: Child) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            if not daemon.alive():
                raise RuntimeError(f"the daemon exited with code {daemon.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url + "/healthz")).status_code == 200:
                    return
            if loop.time() > deadline:
                raise RuntimeError(f"the daemon did not answer {url}/healthz within {READY_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.2)


async def _drain_handlers() -> None:
    """Let the simulators' connection handlers see their sockets closed and finish, so nothing is cancelled
    mid-close when the loop ends."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=DRAIN_S)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def prepare(state: Path, port: int, host: str = "127.0.0.1") -> tuple[Path, TextIO] | None:
    """Checks and files before anything starts: the port, one demo per state dir, the secrets."""
    if not _port_free(port, host):
        say(f"端口 {port} 已被占用 / port {port} is in use: try `edge demo --port {port + 1}`")
        return None
    state = state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    lock = (state / "demo.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        say(f"另一个演示正在使用 {state} / another demo runs in {state}: use --state-dir")
        return None
    # AES-128: the demo's police link is encrypted, as a real one should be.
    _write_secret(state / "dc09.key", secrets.token_hex(16))
    _write_secret(state / "camera.pass", CAMERA_PASSWORD)
    _write_secret(state / "gb28181.pass", secrets.token_urlsafe(12))  # the police video platform's password
    (state / "received.jsonl").unlink(missing_ok=True)
    return state, lock


def _write_config(site: DemoSite, state: Path, port: int, host: str) -> Path | None:
    """The daemon's config on the simulators' ports; None (issues printed) when it does not validate."""
    police = site.police
    assert police is not None
    streams = {cid: uri for cid in GB_CAMERAS if (uri := police.stream_uri(cid))}
    doc = build_config(
        load_defaults(DEFAULTS_FILE), state, port, site.bus_ports, site.broker.url, site.camera_urls(),
        site.receiver.url, state / "dc09.key", host, police.url, streams, site.recorder_url(),
    )  # fmt: skip
    config_path = state / "edge-demo.yaml"
    write_yaml(doc, config_path)
    try:
        load_config(config_path)
    except ConfigError as exc:
        for issue in exc.issues:
            say(str(issue))
        return None
    return config_path


async def run_demo(port: int, scenario: bool, state: Path, log_level: str = "warning", host: str = "127.0.0.1") -> int:
    """The demo in the running loop; `state` was set up by `prepare`."""
    key_hex = (state / "dc09.key").read_text(encoding="utf-8").strip()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    gb_password = (state / "gb28181.pass").read_text(encoding="utf-8").strip()
    site = DemoSite(state, bytes.fromhex(key_hex), on_report=lambda r: say(r.line()), gb_password=gb_password)
    daemon: Child | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        await site.start()
        config_path = _write_config(site, state, port, host)
        if config_path is None:
            return 2
        tokens, passwords = _credentials(state)
        daemon = Child(
            "edge daemon",
            [sys.executable, "-m", "edge", "run", "-c", str(config_path), "--log-level", log_level],
            state / "daemon.log",
        )
        url = f"http://127.0.0.1:{port}"
        await _wait_ready(url, daemon)
        info = {
            "dashboard": url + "/", "config": str(config_path), "mqtt": site.broker.url, "broker": site.broker.kind,
            "receiver": site.receiver.url, "received_page": site.page.url,
            "received_log": str(state / "received.jsonl"),
            "daemon_pid": daemon.pid, "daemon_log": str(state / "daemon.log"), "wsd_port": site.wsd.port,
            **_police_info(site),
        }  # fmt: skip
        await upload_maps(url, tokens["technician"])
        _patrol_sheet(config_path, url, info)
        (state / "demo.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        info["logins"] = "  ".join(f"{label} {n} / {passwords[n]}" for n, _r, label in DEMO_USERS)
        _banner(info, tokens, site.broker.kind, scenario)
        if scenario:
            tasks.append(asyncio.create_task(Scenario(site, lambda t: say(f"[场景 scenario] {t}")).run()))
        while not stop.is_set():
            if not daemon.alive():
                say(f"守护进程已退出 / the daemon exited ({daemon.proc.returncode}):\n{_tail(state / 'daemon.log')}")
                return 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await stop.wait()
        say("正在停止 / stopping ...")
        return 0
    except RuntimeError as exc:
        say(f"演示无法启动 / the demo could not start: {exc}")
        if daemon is not None:
            say(_tail(state / "daemon.log"))
        return 1
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if daemon is not None:
            daemon.stop()
        await site.stop()
        await _drain_handlers()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _police_info(site: DemoSite) -> dict[str, str]:
    if site.police is None or site.police_page is None:
        return {}
    return {
        "police_video": site.police.url,
        "police_video_page": site.police_page.url,
        "police_video_note": site.police.video_note,
    }


def lan_address() -> str:
    """This machine's address on its default route (no packet is sent: a UDP socket only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _patrol_sheet(config_path: Path, url: str, info: dict[str, object]) -> None:
    """The demo's printable checkpoint QR codes, and where a phone would land after scanning one."""
    config = load_config(config_path)
    if config.patrol is None:
        return
    if config.api.host in ("0.0.0.0", "::"):  # noqa: S104 (a check, not a bind) the QR codes need a LAN address
        url = f"http://{lan_address()}:{config.api.port}"
    sheet = config_path.with_name("patrol-qr.html")
    sheet.write_text(qr_sheet_html(config, config.patrol, url), encoding="utf-8")
    info["patrol_qr_sheet"], info["patrol_scan"] = str(sheet), scan_url(url, config.patrol.checkpoints[-2].tag)


def _banner(info: dict[str, object], tokens: dict[str, str], broker: str, scenario: bool) -> None:
    say(
        "\n演示学校已启动 / demo school running\n"
        f"  仪表盘 dashboard:          {info['dashboard']}\n"
        f"  登录 logins (user / password): {info['logins']}\n"
        f"  操作员令牌 operator token: {tokens['operator']}\n"
        f"  技术员令牌 technician token (for `edge commission test-alarm`): {tokens['technician']}\n"
        f"  值班保安令牌 guard token (patrol phone page): {tokens['guard']}\n"
        f"  巡查二维码 patrol QR sheet: {info.get('patrol_qr_sheet', '-')}\n"
        f"  手机扫码页 phone page e.g.: {info.get('patrol_scan', '-')}\n"
        f"  配置 config:               {info['config']}\n"
        f"  守护进程日志 daemon log:    {info['daemon_log']}\n"
        f"  MQTT ({broker}):          {info['mqtt']}  topic edge/buttons/<id>/event\n"
        f"  接警中心 police receiver:   {info['receiver']}  page {info['received_page']}\n"
        f"  公安视频平台 police video (GB/T 28181): {info.get('police_video', '-')}  "
        f"page {info.get('police_video_page', '-')}\n"
        f"  摄像机发现 discovery:      edge commission discover --address 127.0.0.1 --port {info['wsd_port']}\n"
        f"  场景 scenario: {'on' if scenario else 'off'}\n"
        "按 Ctrl-C 停止全部 / Ctrl-C stops everything\n"
    )
