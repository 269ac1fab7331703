"""MANSCDP XML bodies (GB/T 28181 annex A): Query, Control, Notify and Response documents.

Bodies are GB2312 by default (the 2016 edition's examples; most platforms still expect it), UTF-8
when configured. Decoding follows the body's own XML declaration, since platforms differ. Input is
bounded: oversize bodies, DTDs (entity expansion) and broken XML are a `ManscdpError`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # DTDs are refused before parsing, sizes bounded
from dataclasses import dataclass, field

CONTENT_TYPE = "Application/MANSCDP+xml"
MAX_BODY = 32 * 1024
_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_\-]{1,20})[\"'][^>]*\?>", re.I)
_DECL_ANY = re.compile(r"^\s*<\?xml[^>]*\?>")
ROOTS = ("Query", "Control", "Notify", "Response")


class ManscdpError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Document:
    root: str  # Query / Control / Notify / Response
    fields: dict[str, str]  # direct children with text
    element: ET.Element = field(repr=False)

    @property
    def cmd_type(self) -> str:
        return self.fields.get("CmdType", "")

    @property
    def sn(self) -> int:
        value = self.fields.get("SN", "")
        return int(value) if value.isdigit() and len(value) <= 10 else 0

    @property
    def device_id(self) -> str:
        return self.fields.get("DeviceID", "")


def codec(charset: str) -> str:
    """Python codec for a declared charset: GB2312 text is decoded as GB18030, its superset."""
    low = charset.lower().replace("_", "-")
    return "gb18030" if low in ("gb2312", "gbk", "gb18030") else low


def decode(body: bytes) -> Document:
    if len(body) > MAX_BODY:
        raise ManscdpError("too_large", f"{len(body)} bytes")
    if b"<!" in body:
        raise ManscdpError("dtd_refused")  # no DOCTYPE/ENTITY/CDATA in MANSCDP
    m = _DECL.match(body)
    charset = m[1].decode() if m else "utf-8"
    try:
        text = body.decode(codec(charset))
    except (LookupError, UnicodeDecodeError) as exc:
        raise ManscdpError("bad_charset", str(exc)[:80]) from None
    try:
        root = ET.fromstring(_DECL_ANY.sub("", text, count=1))  # noqa: S314 - no DTD, bounded size
    except ET.ParseError as exc:
        raise ManscdpError("bad_xml", str(exc)[:80]) from None
    if root.tag not in ROOTS:
        raise ManscdpError("unknown_root", root.tag[:40])
    fields = {child.tag: (child.text or "").strip() for child in root if len(child) == 0}
    if not fields.get("CmdType"):
        raise ManscdpError("no_cmdtype")
    return Document(root.tag, fields, root)


def _append(parent: ET.Element, tag: str, value: object) -> None:
    if value is None:
        return
    child = ET.SubElement(parent, tag)
    if isinstance(value, list):
        for k, v in value:
            _append(child, k, v)
    else:
        child.text = str(value)


def encode(
    root: str, items: list[tuple[str, object]], charset: str, attrs: dict[str, dict[str, str]] | None = None
) -> bytes:
    """A MANSCDP document; `items` are (tag, text | nested items); `attrs` sets attributes by tag (Num=)."""
    el = ET.Element(root)
    for tag, value in items:
        _append(el, tag, value)
    for tag, values in (attrs or {}).items():
        for node in el.iter(tag):
            node.attrib.update(values)
    ET.indent(el, space="")
    text = f'<?xml version="1.0" encoding="{charset}"?>\n' + ET.tostring(el, encoding="unicode") + "\n"
    return text.encode(codec(charset), errors="replace")
