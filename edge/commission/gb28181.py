"""`edge commission gb28181`: register once with the configured platform, print the catalog as the
platform will see it (Chinese and English), then unregister. Exit 0 when the platform accepted us."""

from __future__ import annotations

import asyncio

from edge.config import Config, read_secret
from edge.gb28181.channels import Channel, channels
from edge.gb28181.device import GbDevice, RegisterError
from edge.gb28181.endpoint import SipTimeout
from edge.gb28181.sip import SipError

KINDS = {"camera": ("摄像机", "camera", "132"), "button": ("报警输入", "alarm input", "134")}


def catalog_lines(chans: list[Channel]) -> list[str]:
    out = [
        f"目录 catalog: {len(chans)} 个通道 channel(s)",
        "通道编码 ID            类型 type            名称 name / 位置 location / 联动 linked camera",
    ]
    for c in chans:
        zh, en, digits = KINDS[c.kind]
        linked = f" / 联动 linked: {c.camera_name} {c.camera_gb_id}" if c.camera_gb_id else ""
        out.append(f"{c.gb_id}  {digits} {zh} {en:<12} {c.name} / {c.location or '-'}{linked}")
    return out


async def check(config: Config, local_port: int = 0, within: float = 10.0) -> tuple[bool, list[str]]:
    gb = config.gb28181
    if gb is None:
        return False, ["未配置 gb28181 / no gb28181 section in the config"]
    cfg = gb.model_copy(update={"local_port": local_port})
    chans = channels(config)
    device = GbDevice(cfg, read_secret(gb.password_file) or "", chans)
    lines = [f"平台 platform: {gb.server_id} @ {gb.server}  本机 device: {gb.device_id}"]
    ok = False
    try:
        async with asyncio.timeout(within):
            await device._open()
            await device.register(60)
            ok = True
            lines.append("注册成功 registered: 平台已接受 the platform accepted the registration")
            await device.register(0)
    except RegisterError as exc:
        hint = "（密码或设备编码错误？/ wrong password or device ID?）" if exc.reason == "auth" else ""
        lines.append(f"注册失败 registration failed: {exc}{hint}")
    except (TimeoutError, SipTimeout, OSError, SipError) as exc:
        lines.append(f"平台无应答 no answer from the platform: {exc or type(exc).__name__}")
    finally:
        await device._close()
    return ok, lines + catalog_lines(chans)
