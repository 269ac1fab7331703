"""Our SOAP reply parser (edge/onvif/soap.py over edge/onvif/xmlsafe.py) against hostile input.

Garbage, entity bombs, external entities, deep nesting, huge element counts, SOAP faults of both
versions and wrong namespaces: every input ends in an element, a SoapFault or a Malformed, fast and
without expanding anything.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.onvif import ops, soap
from edge.onvif.session import NS_DEVICE, NS_MEDIA, NS_SEARCH
from edge.onvif.xmlsafe import MAX_DEPTH, MAX_ELEMENTS, XmlRejected, parse
from edge.sim.onvif.soap import parse_request, verify_token

ENV = f'<s:Envelope xmlns:s="{soap.ENV12}" xmlns:tds="{NS_DEVICE}" xmlns:tt="{soap.TT}" xmlns:trt="{NS_MEDIA}">'


def envelope(body: str) -> bytes:
    return f'<?xml version="1.0"?>{ENV}<s:Body>{body}</s:Body></s:Envelope>'.encode()


def outcome(data: bytes, ns: str = NS_DEVICE, op: str = "GetDeviceInformation") -> str:
    try:
        soap.reply(data, ns, op)
    except soap.SoapFault:
        return "fault"
    except soap.Malformed:
        return "malformed"
    return "ok"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_escape_untyped(data: bytes) -> None:
    assert outcome(data) in ("ok", "fault", "malformed")


TAGS = st.sampled_from(["s:Envelope", "s:Body", "s:Fault", "tds:GetDeviceInformationResponse", "tt:X", "x", "s:Code"])


@st.composite
def xmlish(draw: st.DrawFn) -> bytes:
    """Well-formed-looking SOAP with random nesting, cut anywhere."""
    parts: list[str] = []
    stack: list[str] = []
    for _ in range(draw(st.integers(0, 30))):
        close = draw(st.booleans())
        if stack and close:
            parts.append(f"</{stack.pop()}>")
        else:
            tag = draw(TAGS)
            stack.append(tag)
            parts.append(f"<{tag}>{draw(st.text(max_size=5))}")
    parts += [f"</{t}>" for t in reversed(stack)]
    text = "".join(parts).replace("&", "&amp;").replace("\x00", "")
    data = envelope(text)
    return data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data


@settings(max_examples=300, deadline=None)
@given(xmlish())
def test_xml_shaped_garbage_is_typed(data: bytes) -> None:
    assert outcome(data) in ("ok", "fault", "malformed")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from((*ops.DEVICE_FIELDS, "Extra")), st.text(max_size=20), max_size=6))
def test_device_information_fields_round_trip(fields: dict[str, str]) -> None:
    inner = "".join(f"<tds:{k}>{v.replace('&', '&amp;').replace('<', '&lt;')}</tds:{k}>" for k, v in fields.items())
    data = envelope(f"<tds:GetDeviceInformationResponse>{inner}</tds:GetDeviceInformationResponse>")
    try:
        info = ops.parse_device_information(soap.reply(data, NS_DEVICE, "GetDeviceInformation"))
    except soap.Malformed:
        return  # text hypothesis drew that XML cannot carry (control characters)
    for k in ops.DEVICE_FIELDS:
        # An XML parser hands text over with its line ends normalised (XML 1.0 section 2.11).
        sent = fields.get(k, "").replace("\r\n", "\n").replace("\r", "\n")
        assert info[k] == sent.strip()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>"
    + ENV.encode()
    + b"<s:Body><x>&lol9;</x></s:Body></s:Envelope>"
)
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "http://192.0.2.1/steal">]><x>&e;</x>'
PARAMETER = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>'


@pytest.mark.parametrize(
    "data", [BILLION_LAUGHS, EXTERNAL, PARAMETER, b"<!DOCTYPE x><x/>"], ids=["laughs", "external", "parameter", "plain"]
)
def test_any_doctype_is_refused_without_expanding(data: bytes) -> None:
    t0 = time.monotonic()
    with pytest.raises(XmlRejected) as exc:
        parse(data)
    assert exc.value.reason == "doctype"
    assert time.monotonic() - t0 < 0.5
    assert outcome(data) == "malformed"


def test_undeclared_entity_is_a_syntax_error() -> None:
    with pytest.raises(XmlRejected) as exc:
        parse(envelope("<x>&bogus;</x>"))
    assert exc.value.reason == "syntax"


def test_deep_nesting_is_refused_not_recursed() -> None:
    deep = b"<a>" * 1_000_000 + b"</a>" * 1_000_000
    t0 = time.monotonic()
    with pytest.raises(XmlRejected) as exc:
        parse(deep)
    assert exc.value.reason == "too_deep"
    assert time.monotonic() - t0 < 1.0  # stops at MAX_DEPTH, long before the end
    parse(b"<a>" * (MAX_DEPTH - 1) + b"</a>" * (MAX_DEPTH - 1))  # just inside the bound


def test_element_flood_is_refused() -> None:
    with pytest.raises(XmlRejected) as exc:
        parse(b"<r>" + b"<a/>" * (MAX_ELEMENTS + 1) + b"</r>")
    assert exc.value.reason == "too_many"


def test_soap12_fault_with_subcodes() -> None:
    data = envelope(
        "<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized</s:Value>"
        '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">Sender not Authorized</s:Text></s:Reason></s:Fault>'
    )
    with pytest.raises(soap.SoapFault) as exc:
        soap.reply(data, NS_DEVICE, "GetDeviceInformation")
    assert exc.value.code == "Sender" and exc.value.subcodes == ("NotAuthorized",)
    assert exc.value.not_authorized
    assert soap.fault_in(data) is not None


def test_soap11_fault() -> None:
    data = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault>'
        b"<faultcode>e:Server</faultcode><faultstring>Action Not Implemented</faultstring>"
        b"</e:Fault></e:Body></e:Envelope>"
    )
    with pytest.raises(soap.SoapFault) as exc:
        soap.reply(data, NS_DEVICE, "GetDeviceInformation")
    assert exc.value.code == "Server" and not exc.value.not_authorized


@pytest.mark.parametrize(
    "data",
    [
        # the right operation in another service's namespace
        envelope("<trt:GetDeviceInformationResponse/>"),
        # a Fault element that is not SOAP's
        envelope('<f:Fault xmlns:f="urn:other"/>'),
        # the answer to another operation
        envelope("<tds:GetServicesResponse/>"),
        # an Envelope in no namespace / a foreign one
        b"<Envelope><Body><GetDeviceInformationResponse/></Body></Envelope>",
        b'<s:Envelope xmlns:s="urn:not-soap"><s:Body/></s:Envelope>',
    ],
    ids=["other-service", "foreign-fault", "other-op", "no-ns", "foreign-envelope"],
)
def test_wrong_namespaces_are_malformed(data: bytes) -> None:
    assert outcome(data) == "malformed"


def test_missing_fields_are_malformed() -> None:
    r = soap.reply(
        envelope("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime/></tds:GetSystemDateAndTimeResponse>"),
        NS_DEVICE,
        "GetSystemDateAndTime",
    )
    with pytest.raises(soap.Malformed):
        ops.parse_system_date_and_time(r)


def test_recording_times_parse_with_fractions_and_offsets() -> None:
    ns = f'xmlns:tse="{NS_SEARCH}"'
    data = envelope(
        f"<tse:GetRecordingSummaryResponse {ns}><tse:Summary><tt:DataFrom>2026-01-02T03:04:05.250Z</tt:DataFrom>"
        "<tt:DataUntil>2026-01-03T11:04:05+08:00</tt:DataUntil></tse:Summary></tse:GetRecordingSummaryResponse>"
    )
    start, end = ops.parse_recording_summary(soap.reply(data, NS_SEARCH, "GetRecordingSummary"))
    assert end - start == pytest.approx(86_400 - 0.25)
    with pytest.raises(soap.Malformed):
        soap.xs_datetime("yesterday")


def test_request_carries_a_valid_password_digest() -> None:
    """The token our client sends is what the simulator's (independent) checker verifies."""
    created = soap.created_now()
    data = soap.envelope(NS_DEVICE, "<m:GetDeviceInformation/>", soap.security_header("admin", "pw&<", created))
    req = parse_request(data)
    assert req.operation == "GetDeviceInformation" and req.namespace == NS_DEVICE
    assert req.token is not None and req.token.digest and req.token.created == created
    assert verify_token(req.token, "admin", "pw&<")
    assert not verify_token(req.token, "admin", "other")
