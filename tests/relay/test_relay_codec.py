"""The DC-09 codec: table-driven content, property tests for frames, rejections typed and counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.relay.dc09 import content, crypto
from edge.relay.dc09.crc import crc16, crc_hex
from edge.relay.dc09.frame import Frame, Rejection, decode, encode, parse_reply
from edge.relay.message import PoliceCode, PoliceMessage

HEX = "0123456789ABCDEF"
_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="[]")


def test_crc_is_crc16_arc() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the catalogue check value of CRC-16/ARC
    assert crc_hex(b"") == "0000"


@pytest.mark.parametrize(
    ("code", "cid_block", "sia_block"),
    [
        (PoliceCode.PANIC, "1120 01 005", "Nri5/PA005"),
        (PoliceCode.PANIC_RESTORE, "3120 01 005", "Nri5/PH005"),
        (PoliceCode.TAMPER, "1137 01 005", "Nri5/TA005"),
        (PoliceCode.TAMPER_RESTORE, "3137 01 005", "Nri5/TR005"),
        (PoliceCode.TROUBLE, "1380 01 005", "Nri5/PT005"),
        (PoliceCode.TROUBLE_RESTORE, "3380 01 005", "Nri5/PJ005"),
        (PoliceCode.TEST_MANUAL, "1601 01 005", "Nri5/RX005"),
        (PoliceCode.TEST_PERIODIC, "1602 01 005", "Nri5/RP005"),
    ],
)
def test_content_mapping(code: PoliceCode, cid_block: str, sia_block: str) -> None:
    msg = PoliceMessage("e1", "b", code, 5, 0)
    assert content.data_block(msg, "ADM-CID") == cid_block
    assert content.data_block(msg, "SIA-DCS") == sia_block
    assert content.parse_data("ADM-CID", cid_block) == (code, 5)
    assert content.parse_data("SIA-DCS", sia_block) == (code, 5)


def test_xdata_uses_button_then_site_and_escapes_the_link() -> None:
    msg = PoliceMessage("e", "b", PoliceCode.PANIC, 1, 0, verify_url="http://nvr/cam[1]|x")
    assert content.xdata(msg, (120.1, 30.2)) == ("X120.100000", "Y30.200000", "Vhttp://nvr/cam%5B1%5D%7Cx")
    own = PoliceMessage("e", "b", PoliceCode.PANIC, 1, 0, coordinates=(-1.5, 2.0))
    assert content.xdata(own, (120.1, 30.2)) == ("X-1.500000", "Y2.000000")
    assert content.xdata(PoliceMessage("e", "b", PoliceCode.PANIC, 1, 0), None) == ()


def test_parse_data_rejects_foreign_codes() -> None:
    assert isinstance(content.parse_data("ADM-CID", "1130 01 001"), Rejection)
    assert isinstance(content.parse_data("SIA-DCS", "Nri1/BA001"), Rejection)
    assert isinstance(content.parse_data("NULL", ""), Rejection)


def test_key_parsing() -> None:
    assert len(crypto.parse_key("00" * 16)) == 16
    assert len(crypto.parse_key("ab" * 24 + "\n")) == 24
    assert len(crypto.parse_key("AB" * 32)) == 32
    for bad in ("00" * 15, "zz" * 16, ""):
        with pytest.raises(crypto.CryptoError):
            crypto.parse_key(bad)


frames = st.builds(
    Frame,
    kind=st.sampled_from(["ADM-CID", "SIA-DCS", "NULL"]),
    sequence=st.integers(0, 9999),
    account=st.text(HEX, min_size=3, max_size=16),
    data=st.one_of(st.just(""), st.text(_printable, min_size=1, max_size=60).filter(lambda s: s[0] not in "#|")),
    receiver=st.one_of(st.none(), st.text(HEX, min_size=1, max_size=6)),
    line=st.one_of(st.none(), st.text(HEX, min_size=1, max_size=6)),
    xdata=st.lists(st.text(_printable, min_size=1, max_size=30), max_size=3).map(tuple),
    timestamp=st.one_of(
        st.none(),
        st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(lambda d: d.replace(microsecond=0, tzinfo=UTC)),
    ),
)
keys = st.one_of(st.none(), st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))


@settings(max_examples=150, deadline=None)
@given(frame=frames, key=keys)
def test_encode_decode_round_trip(frame: Frame, key: bytes | None) -> None:
    raw = encode(frame, key)
    assert raw.startswith(b"\n") and raw.endswith(b"\r")
    back = decode(raw, key)
    assert back == Frame(**{**{f: getattr(frame, f) for f in Frame.__slots__}, "encrypted": key is not None})


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300), key=keys)
def test_decoder_never_crashes_on_bytes(raw: bytes, key: bytes | None) -> None:
    for fn in (decode, parse_reply):
        out = fn(raw, key)
        assert isinstance(out, Frame | Rejection)
        if isinstance(out, Rejection):
            assert out.reason and out.reason.isidentifier()


@settings(max_examples=100, deadline=None)
@given(frame=frames, key=keys, pos=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_corrupted_frames_are_rejected_not_crashed(frame: Frame, key: bytes | None, pos: int, byte: int) -> None:
    raw = bytearray(encode(frame, key))
    i = 1 + pos % (len(raw) - 2)
    if raw[i] == byte:
        return
    raw[i] = byte
    out = decode(bytes(raw), key)
    # CRC-16 catches every single-byte change in the checked part and a changed header is caught too;
    # the only change that may pass is one that means the same (the CRC's hex digits in lower case).
    assert isinstance(out, Rejection) or out == decode(encode(frame, key), key)


def test_rejections_are_typed() -> None:
    frame = Frame("ADM-CID", 1, "1234", "1120 01 001", line="0", timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    raw = encode(frame)
    assert decode(raw[:-5] + b"\r") == Rejection("length", decode(raw[:-5] + b"\r").detail)  # type: ignore[union-attr]
    wrong_crc = b"\n0000" + raw[5:]
    assert isinstance(decode(wrong_crc), Rejection) and decode(wrong_crc).reason == "crc"  # type: ignore[union-attr]
    key = bytes(range(16))
    enc = encode(frame, key)
    assert decode(enc).reason == "no_key"  # type: ignore[union-attr]
    assert decode(enc, bytes(16)).reason == "decrypt"  # type: ignore[union-attr]
    assert decode(b"\n\r").reason == "framing"  # type: ignore[union-attr]
    ack = encode(Frame("ACK", 1, "1234"))
    assert decode(ack).reason == "token"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "kind", "seq", "receiver", "line"),
    [
        (b'"NAK"', "NAK", 0, None, None),  # pysiaalarm: unknown account
        (b'\n0CE90016"ACK"0042NoneL1#12AB[]\r', "ACK", 42, None, "1"),  # pysiaalarm: no R in our frame
        (b'\nDC9F0025"NAK"0000L0R0A0[]_10:30:43,11-22-2026\r', "NAK", 0, "0", "0"),
        (b'\nB08C0014"ACK"0005R2L1#12AB[]\r', "ACK", 5, "2", "1"),
    ],
)
def test_reply_quirks(raw: bytes, kind: str, seq: int, receiver: str | None, line: str | None) -> None:
    reply = parse_reply(raw)
    assert isinstance(reply, Frame)
    assert (reply.kind, reply.sequence, reply.receiver, reply.line) == (kind, seq, receiver, line)


def test_encrypted_pad_fills_whole_blocks_and_varies() -> None:
    key = bytes(16)
    a, b = crypto.encrypt(key, "]_00:00:00,01-01-2026"), crypto.encrypt(key, "]_00:00:00,01-01-2026")
    assert len(a) % 32 == 0 and a != b
    assert crypto.decrypt(key, a) == "]_00:00:00,01-01-2026"
