"""olive.ami._reader: framing on the blank line, then decoding and parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.ami import Action, Banner, Event, MalformedMessage, Response
from olive.ami._reader import FrameReader, decode, parse_headers, parse_message
from support import transcripts


def frames(reader: FrameReader) -> list[object]:
    out: list[object] = []
    while (frame := reader.next_frame()) is not None:
        out.append(frame)
    return out


class TestDecode:
    def test_utf8(self) -> None:
        assert decode("Zo\u00eb".encode()) == "Zo\u00eb"

    @given(st.binary())
    def test_any_bytes_decode_and_nothing_is_lost(self, raw: bytes) -> None:
        text = decode(raw)
        assert text.encode("utf-8") == raw or text.encode("latin-1") == raw


class TestParseHeaders:
    def test_one_space_after_the_colon_is_dropped_the_rest_kept(self) -> None:
        assert parse_headers(b"A: x\r\nB:y\r\nC:  z \r\nD: ") == (
            ("A", "x"),
            ("B", "y"),
            ("C", " z "),
            ("D", ""),
        )

    def test_repeated_names_are_kept_in_order(self) -> None:
        assert parse_headers(b"Action: Originate\nVariable: A=1\nVariable: B=2") == (
            ("Action", "Originate"),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
        )

    def test_colons_in_values_are_kept(self) -> None:
        assert parse_headers(b"Device: Queue:olive-campaign_avail") == (
            ("Device", "Queue:olive-campaign_avail"),
        )

    @pytest.mark.parametrize("line", [b"no colon here", b": no name", b" Lead: space"])
    def test_lines_that_are_not_headers_are_reported(self, line: bytes) -> None:
        reason = parse_headers(b"Event: X\r\n" + line)
        assert isinstance(reason, str) and "header line" in reason


class TestParseMessage:
    def test_event_response_action(self) -> None:
        assert isinstance(parse_message(b"Event: Hangup"), Event)
        assert isinstance(parse_message(b"Response: Success"), Response)
        assert isinstance(parse_message(b"Action: Ping"), Action)

    def test_originate_response_is_an_event_though_it_has_a_response_header(self) -> None:
        msg = parse_message(b"Event: OriginateResponse\r\nResponse: Failure\r\nReason: 5")
        assert isinstance(msg, Event) and msg.name == "OriginateResponse"

    def test_kind_from_a_later_header(self) -> None:
        assert isinstance(parse_message(b"ActionID: 1\r\nResponse: Success"), Response)

    def test_no_kind_is_malformed(self) -> None:
        msg = parse_message(b"Foo: bar")
        assert isinstance(msg, MalformedMessage) and msg.raw == b"Foo: bar"


class TestFrameReader:
    def test_banner_then_messages(self) -> None:
        reader = FrameReader(expect_banner=True)
        reader.feed(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n")
        assert frames(reader) == [
            Banner("Asterisk Call Manager/11.0.0"),
            Response((("Response", "Success"),)),
        ]
        assert frames(reader) == []
        assert reader.pending == 0

    def test_banner_version(self) -> None:
        assert Banner("Asterisk Call Manager/11.0.0").version == "11.0.0"

    def test_oversized_banner_is_malformed_and_the_stream_goes_on(self) -> None:
        reader = FrameReader(expect_banner=True, max_message_bytes=10)
        reader.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: A\r\n\r\n")
        got = frames(reader)
        assert isinstance(got[0], MalformedMessage)
        assert got[1:] == [Event((("Event", "A"),))]

    def test_oversized_banner_byte_by_byte(self) -> None:
        data = b"Asterisk Call Manager/11.0.0\r\nEvent: A\r\n\r\n"
        reader = FrameReader(expect_banner=True, max_message_bytes=10)
        got: list[object] = []
        for i in range(len(data)):
            reader.feed(data[i : i + 1])
            got += frames(reader)
        assert len(got) == 2
        assert isinstance(got[0], MalformedMessage)
        assert got[1] == Event((("Event", "A"),))

    def test_a_message_exactly_at_the_limit_is_accepted(self) -> None:
        raw = b"Event: " + b"x" * 13  # 20 bytes
        for chunk in (1, 21, 22, 23, 100):
            reader = FrameReader(expect_banner=False, max_message_bytes=20)
            got: list[object] = []
            data = raw + b"\r\n\r\n"
            for i in range(0, len(data), chunk):
                reader.feed(data[i : i + chunk])
                got += frames(reader)
            assert got == [Event((("Event", "x" * 13),))], chunk

    def test_oversized_message_keeps_a_preview_and_discards_the_rest(self) -> None:
        reader = FrameReader(expect_banner=False, max_message_bytes=1000)
        reader.feed(b"Event: Big\r\nData: " + b"x" * 100_000)
        (bad,) = frames(reader)
        assert isinstance(bad, MalformedMessage)
        assert bad.raw.startswith(b"Event: Big") and len(bad.raw) == 200
        assert reader.pending <= 3  # the discarded tail is not held in memory
        reader.feed(b"x" * 100_000 + b"\r\n\r\nEvent: Next\r\n\r\n")
        assert frames(reader) == [Event((("Event", "Next"),))]

    def test_end_of_stream_inside_an_oversized_message_discards_it(self) -> None:
        reader = FrameReader(expect_banner=False, max_message_bytes=10)
        reader.feed(b"Event: " + b"x" * 50)
        assert len(frames(reader)) == 1
        reader.feed(b"")
        assert frames(reader) == []
        assert reader.at_eof and reader.pending == 0

    def test_blank_end_of_stream_is_not_malformed(self) -> None:
        reader = FrameReader(expect_banner=False)
        reader.feed(b"Event: A\r\n\r\n\r\n")
        reader.feed(b"")
        assert frames(reader) == [Event((("Event", "A"),))]


class _Careful(FrameReader):
    """The message-by-message path only: what the fast path must agree with."""

    _bulk = False


_PIECES = [
    b"Event: A", b"Response: Success", b"Action: Ping", b"Foo", b"Name", b"x", b"Dest",
    b": ", b":", b" ", b"\t", b"\x1c", b"\r\n", b"\r\n\r\n", b"\n", b"\r",
    "\u00e9".encode(), b"\xff", b"\xc3",
]


def _run(reader: FrameReader, data: bytes, cut: int) -> list[object]:
    got: list[object] = []
    for i in range(0, len(data), cut):
        reader.feed(data[i : i + cut])
        got += frames(reader)
    reader.feed(b"")
    return got + frames(reader)


class TestFastPathAgreesWithTheCarefulOne:
    """All whole messages are framed at once on a fast path; it must change nothing."""

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(
        st.lists(st.sampled_from(_PIECES), max_size=40),
        st.integers(min_value=1, max_value=64),
        st.sampled_from([8, 30, 1 << 20]),
    )
    def test_same_messages_for_any_bytes_cuts_and_limits(self, pieces: list[bytes], cut: int, limit: int) -> None:
        data = b"".join(pieces)
        fast = _run(FrameReader(expect_banner=False, max_message_bytes=limit), data, cut)
        careful = _run(_Careful(expect_banner=False, max_message_bytes=limit), data, cut)
        assert fast == careful

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [b"Event", b"Response", b"Action", b"Name", b" Name", b"Name ", b"", b"Na\x1cme",
                     b"\x1cName", b"Na:me", b"Name\r", "N\u00e9".encode(), b"N\xff"]
                ),
                st.sampled_from([b": ", b":", b"", b" : ", b":  "]),
                st.sampled_from([b"", b"x", b" x", b"a: b", b"\xc3", "\u00e9".encode()]),
                st.sampled_from([b"\r\n", b"\r\n", b"\r\n\r\n", b"\n", b"\r\n\r\n\r\n", b"\n\n"]),
            ),
            max_size=30,
        ),
        st.integers(min_value=1, max_value=80),
    )
    def test_same_messages_for_header_like_lines(self, lines: list[tuple[bytes, ...]], cut: int) -> None:
        data = b"".join(b"".join(line) for line in lines)
        fast = _run(FrameReader(expect_banner=False, max_message_bytes=60), data, cut)
        careful = _run(_Careful(expect_banner=False, max_message_bytes=60), data, cut)
        assert fast == careful

    def test_recorded_asterisk_bytes(self) -> None:
        data = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(
            e.wire() for name in transcripts.names() for e in transcripts.load(name).received() if not e.is_banner
        )
        for cut in (1, 7, 4096, len(data)):
            fast = _run(FrameReader(expect_banner=True), data, cut)
            careful = _run(_Careful(expect_banner=True), data, cut)
            assert fast == careful and len(fast) > 1000
            assert not any(isinstance(m, MalformedMessage) for m in fast[1:])
