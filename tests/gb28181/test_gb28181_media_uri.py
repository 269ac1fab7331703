"""A stream URI with userinfo (some cameras' GetStreamUri embeds it) loses it before it reaches a
command line; the credentials travel on the relay's stdin instead."""

from __future__ import annotations

from edge.gb28181.media import split_credentials


def test_credentials_in_a_stream_uri_are_taken_off_it() -> None:
    assert split_credentials("rtsp://adm%40n:p%3Ass@192.0.2.7:554/ch1?x=1") == (
        "rtsp://192.0.2.7:554/ch1?x=1",
        "adm@n",
        "p:ss",
    )
    assert split_credentials("rtsp://192.0.2.7/ch1") == ("rtsp://192.0.2.7/ch1", "", "")
