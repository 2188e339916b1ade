"""TCP syslog framing (RFC 6587): octet counting and newline-delimited, mixed and split."""

from __future__ import annotations

import pytest

from chainbreaker.errors import UsageError
from chainbreaker.live import parse_endpoint, split_frames


def test_octet_counted_and_newline_frames_mix() -> None:
    first = b"<34>1 2024-03-01T10:00:00Z h app - - - hello world"
    stream = (
        str(len(first)).encode() + b" " + first + b"<13>Mar  1 10:00:00 h app: two\n<13>Mar  1 10:00:01 h"
    )
    messages, rest = split_frames(stream)
    assert messages == [first, b"<13>Mar  1 10:00:00 h app: two"]
    assert rest == b"<13>Mar  1 10:00:01 h"


def test_incomplete_octet_counted_frame_waits_for_more() -> None:
    body = b"<34>1 2024-03-01T10:00:00Z h app - - - x"
    frame = str(len(body)).encode() + b" " + body
    messages, rest = split_frames(frame[:-3])
    assert messages == [] and rest == frame[:-3]
    messages, rest = split_frames(rest + frame[-3:])
    assert messages == [body] and rest == b""


def test_rfc3339_line_starting_with_digits_is_newline_framed() -> None:
    line = b"2024-03-01T10:00:00+00:00 host sshd[1]: Failed password"
    assert split_frames(line + b"\r\n") == ([line], b"")


def test_endpoints() -> None:
    assert parse_endpoint("udp://127.0.0.1:5514").name == "syslog+udp://127.0.0.1:5514"
    assert parse_endpoint("tcp://0.0.0.0:601").protocol == "tcp"
    with pytest.raises(UsageError):
        parse_endpoint("http://127.0.0.1:80")
