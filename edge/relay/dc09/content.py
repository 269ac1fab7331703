"""PoliceMessage -> DC-09 data block (ADM-CID or SIA-DCS) and extended data, and back for checking.

ADM-CID: ``#acct|QEEE GG ZZZ`` (qualifier, event, group, zone). SIA-DCS: ``#acct|Nri<zone>/<code><zone>``;
the zone sits in ``ri`` (what pysiaalarm and Home Assistant read) and again as the code's address field
(what DC-03 receivers read). The ``#acct|`` part is added by the frame encoder.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

from edge.relay.dc09.frame import Frame, Rejection
from edge.relay.message import PoliceCode, PoliceMessage

# One partition per school site; Contact ID group 00 means "system", so the site is group 01.
CID_GROUP = "01"
FORMATS = ("ADM-CID", "SIA-DCS")
_BY_CID = {c.cid: c for c in PoliceCode}
_BY_SIA = {c.sia: c for c in PoliceCode}
_CID = re.compile(r"([136])(\d{3}) (\d{2}) (\d{3})")
_SIA = re.compile(r"Nri(\d{1,4})/([A-Z]{2})(\d{0,4})")
# Characters a URL may keep inside [V...]; brackets and bars would break the frame, so they are escaped.
_URL_SAFE = ":/?&=%#@+,;~.-_!*'()$"


def data_block(msg: PoliceMessage, fmt: str) -> str:
    if fmt == "ADM-CID":
        return f"{msg.code.cid} {CID_GROUP} {msg.zone:03d}"
    if fmt == "SIA-DCS":
        return f"Nri{msg.zone}/{msg.code.sia}{msg.zone:03d}"
    raise ValueError(f"unknown DC-09 format {fmt!r}")


def xdata(msg: PoliceMessage, site_coordinates: tuple[float, float] | None) -> tuple[str, ...]:
    """``[X lon][Y lat]`` from the button, else the site; ``[V url]`` when the button has one."""
    out: list[str] = []
    coords = msg.coordinates or site_coordinates
    if coords is not None:
        out += [f"X{coords[0]:.6f}", f"Y{coords[1]:.6f}"]
    if msg.verify_url:
        out.append("V" + quote(msg.verify_url, safe=_URL_SAFE))
    return tuple(out)


def message_frame(
    msg: PoliceMessage,
    *,
    fmt: str,
    account: str,
    sequence: int,
    timestamp: datetime,
    receiver: str | None = None,
    line: str | None = None,
    site_coordinates: tuple[float, float] | None = None,
) -> Frame:
    return Frame(
        kind=fmt,
        sequence=sequence,
        account=account.upper(),
        data=data_block(msg, fmt),
        receiver=receiver,
        line=line,
        xdata=xdata(msg, site_coordinates),
        timestamp=timestamp,
    )


def null_frame(
    *, account: str, sequence: int, timestamp: datetime, receiver: str | None = None, line: str | None = None
) -> Frame:
    """The supervision message: no data, just a timestamped heartbeat the receiver must ACK."""
    return Frame(
        kind="NULL", sequence=sequence, account=account.upper(), receiver=receiver, line=line, timestamp=timestamp
    )


def parse_data(fmt: str, data: str) -> tuple[PoliceCode, int] | Rejection:
    """The code and zone back out of a data block (tests and the benchmark's receiver use this)."""
    if fmt == "ADM-CID":
        m = _CID.fullmatch(data)
        code = _BY_CID.get(m[1] + m[2]) if m else None
        if not m or code is None:
            return Rejection("content", f"not one of our Contact ID events: {data[:24]!r}")
        return code, int(m[4])
    if fmt == "SIA-DCS":
        m = _SIA.fullmatch(data)
        code = _BY_SIA.get(m[2]) if m else None
        if not m or code is None:
            return Rejection("content", f"not one of our SIA events: {data[:24]!r}")
        return code, int(m[1])
    return Rejection("token", fmt)
