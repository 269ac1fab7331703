"""XML from cameras parsed the way defusedxml would: no DTD, no entities, no network, bounded shape.

Pure: bytes in, an ElementTree element (tags as `{namespace}local`) or an `XmlRejected` with a reason.
expat itself reads nothing from the network, but a DOCTYPE could still declare entities that expand
a small reply into gigabytes; any DOCTYPE is refused outright, as no SOAP message may carry one.
Element depth and count are bounded too, so a reply nested a million levels deep costs nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final
from xml.parsers import expat

# SOAP replies of the operations we call nest about 12 levels (Envelope/Body/.../Track/DataFrom).
MAX_DEPTH: Final = 48
# A GetProfiles of a 32-channel NVR is ~4,000 elements; past this it is not an answer but an attack.
MAX_ELEMENTS: Final = 100_000


class XmlRejected(ValueError):
    """Not XML we accept; `reason` is one of: syntax, doctype, too_deep, too_many."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class _Builder:
    """expat callbacks building the tree iteratively (no recursion, whatever the nesting)."""

    def __init__(self) -> None:
        self.root: ET.Element | None = None
        self.stack: list[ET.Element] = []
        self.count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise XmlRejected("too_many", f"over {MAX_ELEMENTS} elements")
        if len(self.stack) >= MAX_DEPTH:
            raise XmlRejected("too_deep", f"deeper than {MAX_DEPTH}")
        el = ET.Element(_tag(tag), {_tag(k): v for k, v in attrs.items()})
        if self.stack:
            self.stack[-1].append(el)
        elif self.root is None:
            self.root = el
        self.stack.append(el)

    def end(self, _tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if not self.stack:
            return
        el = self.stack[-1]
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + text
        else:
            el.text = (el.text or "") + text


def _tag(name: str) -> str:
    # expat with namespace_separator="}" gives "ns}local"; ElementTree's convention is "{ns}local".
    return "{" + name if "}" in name else name


def _refuse_doctype(*_args: object) -> None:
    raise XmlRejected("doctype", "DTDs and entity declarations are not accepted")


def _refuse_external(_context: str, _base: str | None, _system_id: str | None, _public_id: str | None) -> int:
    raise XmlRejected("doctype", "external entities are not accepted")


def parse(data: bytes) -> ET.Element:
    """The root element of `data`, or XmlRejected."""
    b = _Builder()
    p = expat.ParserCreate(namespace_separator="}")
    p.buffer_text = True  # one data callback per text node, not one per line or entity
    p.StartElementHandler = b.start
    p.EndElementHandler = b.end
    p.CharacterDataHandler = b.data
    p.StartDoctypeDeclHandler = _refuse_doctype
    p.EntityDeclHandler = _refuse_doctype
    p.ExternalEntityRefHandler = _refuse_external
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        p.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlRejected("syntax", str(exc)[:120]) from None
    if b.root is None:
        raise XmlRejected("syntax", "no root element")
    return b.root
