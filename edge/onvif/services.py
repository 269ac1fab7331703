"""Where a device's services are: the namespaces we know, and GetServices / GetCapabilities parsed (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final

from edge.onvif.soap import child, children, local, need, opt_text

NS_DEVICE: Final = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA: Final = "http://www.onvif.org/ver10/media/wsdl"
NS_SEARCH: Final = "http://www.onvif.org/ver10/search/wsdl"
NS_REPLAY: Final = "http://www.onvif.org/ver10/replay/wsdl"
NS_RECORDING: Final = "http://www.onvif.org/ver10/recording/wsdl"

# GetCapabilities names its top-level services; the namespaces they stand for (ONVIF core spec 8.1.2.7).
CAPABILITY_NS: Final = {
    "Device": NS_DEVICE,
    "Media": NS_MEDIA,
    "Events": "http://www.onvif.org/ver10/events/wsdl",
    "Imaging": "http://www.onvif.org/ver20/imaging/wsdl",
    "PTZ": "http://www.onvif.org/ver20/ptz/wsdl",
    "Analytics": "http://www.onvif.org/ver20/analytics/wsdl",
    "Search": NS_SEARCH,
    "Recording": NS_RECORDING,
    "Replay": NS_REPLAY,
}
GET_SERVICES: Final = "<m:GetServices><m:IncludeCapability>false</m:IncludeCapability></m:GetServices>"
GET_CAPABILITIES: Final = "<m:GetCapabilities><m:Category>All</m:Category></m:GetCapabilities>"


def parse_services(r: ET.Element) -> dict[str, str]:
    """namespace -> XAddr of each advertised service (entries without both are skipped)."""
    out: dict[str, str] = {}
    for svc in children(r, "Service"):
        ns, xaddr = opt_text(svc, "Namespace"), opt_text(svc, "XAddr")
        if ns and xaddr:
            out[ns] = xaddr
    return out


def parse_capabilities(r: ET.Element) -> dict[str, str]:
    caps = need(r, "Capabilities")
    out: dict[str, str] = {}
    for c in [*caps, *(child(caps, "Extension") or [])]:
        ns, xaddr = CAPABILITY_NS.get(local(c.tag)), opt_text(c, "XAddr")
        if ns and xaddr:
            out[ns] = xaddr
    return out
