"""`edge commission discover|serial|camera|test-alarm|report`: install and accept a site."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from edge.config import Config, ConfigError, load_config, read_secret
from edge.redact import redact_url


def _config(path: str | None) -> Config | None:
    return load_config(Path(path)) if path is not None else None


def _discover(args: argparse.Namespace) -> int:
    from edge.commission.discover import MULTICAST_GROUP, add_details, format_table, probe  # noqa: PLC0415

    config = _config(args.config)
    found = probe(args.address or MULTICAST_GROUP, args.port, args.wait, config)
    if args.details and found:
        password = read_secret(Path(args.password_file)) if args.password_file else None
        asyncio.run(add_details(found, config, args.username, password))
    print(format_table(found, compared=config is not None))
    return 0 if found else 1


def _serial(args: argparse.Namespace) -> int:
    from edge.commission.serial_scan import format_scan, parse_units, scan, suggest_yaml  # noqa: PLC0415

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # every silent unit id is expected, not an error
    units = parse_units(args.units)
    res = asyncio.run(
        scan(args.port, units, args.baud, args.parity, args.timeout, args.samples, args.input_type, args.count)
    )
    print(format_scan(res))
    if res.found:
        print("\n# 建议的配置 / suggested config lines (edit names, locations and zones):")
        print(suggest_yaml(res, args.bus_id, args.buttons_per_unit))
    return 0 if res.found else 1


def _camera(args: argparse.Namespace) -> int:
    from edge.commission.camera import camera_from, commission_camera  # noqa: PLC0415
    from edge.commission.lines import FAIL  # noqa: PLC0415
    from edge.config import Checks  # noqa: PLC0415

    config = _config(args.config)
    pw = Path(args.password_file) if args.password_file else None
    cam = camera_from(args.camera, config, args.username, pw)
    checks = config.checks if config is not None else Checks()
    lines, snap = asyncio.run(commission_camera(cam, checks, Path(args.snapshot_dir), not args.no_retention))
    print(f"摄像机 camera {cam.id} ({redact_url(cam.onvif)})")
    for line in lines:
        print("  " + line.render())
    print(f"  快照 snapshot: {snap}" if snap else "  快照 snapshot: 无 none")
    return 1 if any(line.status == FAIL for line in lines) else 0


def _test_alarm(args: argparse.Namespace) -> int:
    import httpx  # noqa: PLC0415

    from edge.commission.test_alarm import TestAlarm, TestAlarmError, base_url  # noqa: PLC0415

    config = load_config(Path(args.config))
    token = args.token or os.environ.get("EDGE_TOKEN")
    if not token:
        print("需要技术员令牌 / a technician token is needed: --token or $EDGE_TOKEN", file=sys.stderr)
        return 2
    url = args.url or base_url(config)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=5.0) as client:
        try:
            tester = TestAlarm(client, args.button, lambda t: print(t, flush=True), args.minutes)
            res = tester.run(args.wait, args.ack_wait)
        except TestAlarmError as exc:
            print(f"测试失败 / test failed: {exc}", file=sys.stderr)
            return 1
    print(f"结果 result: {'通过 PASS' if res.passed else '不通过 FAIL'}  ({res.latency_ms:.0f} ms)")
    return 0 if res.passed else 1


def _mqtt(args: argparse.Namespace) -> int:
    from edge.commission.lines import FAIL, WARN  # noqa: PLC0415
    from edge.commission.mqtt_check import check_broker  # noqa: PLC0415

    config = load_config(Path(args.config))
    if config.mqtt is None:
        print("配置中没有 mqtt 段 / the config has no mqtt section: nothing to check")
        return 0
    lines = check_broker(config.mqtt, args.timeout)
    print(f"MQTT broker {config.mqtt.url}")
    for line in lines:
        print("  " + line.render())
    return 1 if any(line.status in (FAIL, WARN) for line in lines) else 0


def _report(args: argparse.Namespace) -> int:
    from edge.commission.report import commissioning_report  # noqa: PLC0415

    config = load_config(Path(args.config))
    text, failed = commissioning_report(config, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"已写入 written: {args.output}")
    else:
        print(text)
    if failed:
        print("有设备不通过验收 / some devices failed: see the FAIL lines", file=sys.stderr)
    return 1 if failed else 0


def _gb28181(args: argparse.Namespace) -> int:
    from edge.commission.gb28181 import check  # noqa: PLC0415

    ok, lines = asyncio.run(check(load_config(Path(args.config)), args.local_port, args.wait))
    print("\n".join(lines))
    return 0 if ok else 1


def _guard(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Config errors as FILE:LINE lines (exit 2); I/O and lookup errors as one clear line (exit 1)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ConfigError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            return 2
        except (OSError, KeyError, ValueError) as exc:
            print(f"错误 error: {exc}", file=sys.stderr)
            return 1

    return run


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = sub.add_parser("commission", help="install and accept a site / 安装调试与验收")
    cs = top.add_subparsers(dest="commission_command", required=True)

    p = cs.add_parser("discover", help="WS-Discovery of ONVIF devices")
    p.add_argument("--address", help="unicast probe to this address (default: multicast 239.255.255.250)")
    p.add_argument("--port", type=int, default=3702)
    p.add_argument("--wait", type=float, default=3.0, help="seconds to collect answers")
    p.add_argument("-c", "--config", help="mark devices already in this config (and use its camera credentials)")
    p.add_argument("--details", action="store_true", help="also read model and firmware over ONVIF")
    p.add_argument("--username", default="admin", help="for --details on devices not in the config")
    p.add_argument("--password-file", help="for --details on devices not in the config")
    p.set_defaults(handler=_guard(_discover))

    p = cs.add_parser("serial", help="scan Modbus RTU unit ids on a serial port")
    p.add_argument("--port", required=True)
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--parity", choices=["N", "E", "O"], default="N")
    p.add_argument("--units", default="1-32", help="ids to scan, e.g. 1-32 or 1,2,5-7")
    p.add_argument("--timeout", type=float, default=0.2, help="per-request reply timeout (s)")
    p.add_argument("--samples", type=int, default=5, help="extra reads per answering unit (error rate)")
    p.add_argument("--input-type", choices=["discrete_input", "coil"], default="discrete_input")
    p.add_argument("--count", type=int, default=16, help="inputs per module")
    p.add_argument("--bus-id", default="bus1")
    p.add_argument("--buttons-per-unit", type=int, default=1, help="button k on input 2k, tamper on 2k+1")
    p.set_defaults(handler=_guard(_serial))

    p = cs.add_parser("camera", help="every camera check now, with fixes; saves a snapshot")
    p.add_argument("camera", help="camera id from the config, or a device service URL")
    p.add_argument("-c", "--config")
    p.add_argument("--username", default="admin", help="for a URL target")
    p.add_argument("--password-file", help="for a URL target")
    p.add_argument("--snapshot-dir", default=".")
    p.add_argument("--no-retention", action="store_true", help="skip the recorder search")
    p.set_defaults(handler=_guard(_camera))

    p = cs.add_parser("test-alarm", help="test one button end to end through the running daemon")
    p.add_argument("button")
    p.add_argument("-c", "--config", required=True)
    p.add_argument("--token", help="technician token (default $EDGE_TOKEN)")
    p.add_argument("--url", help="API base URL (default from api.listen)")
    p.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the press")
    p.add_argument("--ack-wait", type=float, default=30.0, help="seconds to wait for the police receiver's ACK")
    p.add_argument("--minutes", type=int, default=10, help="maintenance window if this tool is interrupted")
    p.set_defaults(handler=_guard(_test_alarm))

    _register_links(cs)


def _register_links(cs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands that check links to other systems (broker, platform) and the acceptance report."""
    p = cs.add_parser("mqtt", help="check the MQTT broker: gateway login, anonymous button events refused")
    p.add_argument("-c", "--config", required=True)
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each answer")
    p.set_defaults(handler=_guard(_mqtt))

    p = cs.add_parser("report", help="commissioning (acceptance) report for the whole site")
    p.add_argument("-c", "--config", required=True)
    p.add_argument("--format", choices=["text", "html"], default="text")
    p.add_argument("-o", "--output")
    p.set_defaults(handler=_guard(_report))

    p = cs.add_parser("gb28181", help="register with the GB/T 28181 platform once and print the catalog")
    p.add_argument("-c", "--config", required=True)
    p.add_argument("--local-port", type=int, default=0, help="local SIP port (default: any; the daemon keeps its own)")
    p.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the platform")
    p.set_defaults(handler=_guard(_gb28181))
