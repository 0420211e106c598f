"""olive.ami._reader: framing on the blank line, then decoding and parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olive.ami import Action, Banner, Event, MalformedMessage, Response
from olive.ami._reader import FrameReader, decode, parse_headers, parse_message


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
