"""AMICodec: every recorded Asterisk 22 session, replayed every way it can arrive.

Like h11's ``tr()`` (tests/test_io.py): the same bytes fed whole, byte by
byte, in random chunks and with trailing partial data must give the same
messages. The expected messages come from the transcript reader in
tests/support, and the counts from the raw files' ``recv``/``sent`` markers.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from olive.ami import (
    CLOSED,
    NEED_DATA,
    Action,
    AMICodec,
    AMIValueError,
    Banner,
    Event,
    MalformedMessage,
    Response,
    Role,
    action,
)
from olive.ami._messages import ParsedMessage
from support import transcripts

from .helpers import drain, feed_all, recorded_count, split

NAMES = transcripts.names()


def _sessions(name: str) -> list[list[transcripts.Entry]]:
    """The received entries per AMI connection: a banner starts each (21 and 22 log in twice)."""
    sessions: list[list[transcripts.Entry]] = []
    for entry in transcripts.load(name).received():
        if entry.is_banner or not sessions:
            sessions.append([])
        sessions[-1].append(entry)
    return sessions


# One byte stream per recording; those that reconnect (a restart) are checked per connection.
ONE_SESSION = [n for n in NAMES if len(_sessions(n)) == 1]
RECONNECTING = [n for n in NAMES if len(_sessions(n)) > 1]
BANNER = Banner("Asterisk Call Manager/11.0.0")
_KINDS: dict[str, type[Event] | type[Response] | type[Action]] = {
    "event": Event,
    "response": Response,
    "action": Action,
}


def expected(entry: transcripts.Entry) -> ParsedMessage:
    """The message the codec must produce for one transcript entry."""
    if entry.is_banner:
        return Banner(entry.lines[0])
    headers = tuple(entry.headers())
    return _KINDS[headers[0][0].lower()](headers)


def expected_received(name: str) -> list[ParsedMessage]:
    return [expected(e) for e in transcripts.load(name).received()]


def test_every_transcript_is_loaded() -> None:
    # A transcript that silently failed to load would shrink every test below.
    assert len(NAMES) == 38
    assert RECONNECTING == ["21_core_restart_now", "22_core_restart_with_a_call_up"]


class TestNextMessage:
    @pytest.mark.parametrize("name", RECONNECTING)
    def test_each_connection_of_a_restart(self, name: str) -> None:
        for entries in _sessions(name):
            data = b"".join(e.wire() for e in entries)
            want = [expected(e) for e in entries]
            assert feed_all([data]) == want
            assert feed_all(split(data, [1] * len(data))) == want

    @pytest.mark.parametrize("name", ONE_SESSION)
    def test_whole_transcript(self, name: str) -> None:
        got = feed_all([transcripts.load(name).received_bytes()])
        assert got == expected_received(name)
        assert len(got) == recorded_count(name, "recv")
        assert got[0] == BANNER
        assert not [m for m in got if isinstance(m, MalformedMessage)]

    @pytest.mark.parametrize("name", ONE_SESSION)
    def test_byte_by_byte(self, name: str) -> None:
        # A message comes out exactly when its last byte (the blank line) arrives.
        entries = transcripts.load(name).received()
        codec = AMICodec(Role.CLIENT)
        got: list[ParsedMessage] = []
        for entry in entries:
            wire = entry.wire()
            for i in range(len(wire)):
                assert drain(codec) == []
                codec.receive_data(wire[i : i + 1])
            new = drain(codec)
            assert new == [expected(entry)]
            got += new
        assert codec.next_message() is NEED_DATA
        codec.receive_data(b"")
        assert codec.next_message() is CLOSED
        assert len(got) == recorded_count(name, "recv")

    @pytest.mark.parametrize("name", ONE_SESSION)
    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(sizes=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=30))
    def test_random_chunks(self, name: str, sizes: list[int]) -> None:
        data = transcripts.load(name).received_bytes()
        assert feed_all(split(data, sizes)) == expected_received(name)

    @pytest.mark.parametrize("name", ONE_SESSION)
    def test_trailing_partial_message_waits(self, name: str) -> None:
        codec = AMICodec(Role.CLIENT)
        partial = b"Event: Hangup\r\nChannel: PJSIP/1001-0000\xc3"  # ends mid-character
        codec.receive_data(transcripts.load(name).received_bytes() + partial)
        assert drain(codec) == expected_received(name)
        assert codec.next_message() is NEED_DATA
        codec.receive_data(b"\xa9\r\n\r\n")
        assert drain(codec) == [
            Event((("Event", "Hangup"), ("Channel", "PJSIP/1001-0000\u00e9")))
        ]

    def test_list_responses_are_intact(self) -> None:
        got = feed_all([transcripts.load("16_queue_status_snapshot").received_bytes()])
        action_id = "16_queue_status_snapshot-4"
        mine = [m for m in got if isinstance(m, (Response, Event)) and m.action_id == action_id]
        assert [type(m).__name__ + ":" + (m.get("Event") or "") for m in mine] == [
            "Response:",
            "Event:QueueParams",
            "Event:QueueMember",
            "Event:QueueMember",
            "Event:QueueStatusComplete",
        ]
        response, *items, complete = mine
        assert isinstance(response, Response) and response.starts_list
        assert isinstance(complete, Event) and complete.completes_list
        assert complete["ListItems"] == str(len(items)) == "3"
        assert not any(isinstance(i, Event) and i.completes_list for i in items)
        # The list items carry no Timestamp or Privilege (INDEX.md, 16).
        assert all("Timestamp" not in i and "Privilege" not in i for i in items)

    def test_empty_values_are_kept_as_empty_strings(self) -> None:
        got = feed_all([transcripts.load("16_queue_status_snapshot").received_bytes()])
        events = [m for m in got if isinstance(m, Event)]
        newchannel = next(e for e in events if e.name == "Newchannel")
        assert newchannel.get("AccountCode") == ""
        assert "AccountCode" in newchannel
        member = next(e for e in events if e.name == "QueueMember")
        assert member.get("PausedReason") == ""
        assert ("PausedReason", "") in member.headers
        channels = [e for e in events if e.name == "CoreShowChannel"]
        assert [c["BridgeId"] for c in channels].count("") == 2

    def test_unknown_headers_are_kept_raw(self) -> None:
        got = feed_all([transcripts.load("02_busy").received_bytes()])
        auth = next(m for m in got if isinstance(m, Event) and m.name == "SuccessfulAuth")
        assert auth["SessionID"] == "0x7f0a0c001460"
        assert auth.get("NoSuchHeader") is None  # absent, not a silent ""

    @pytest.mark.parametrize("cut", range(1, 4))
    def test_utf8_character_split_across_reads(self, cut: int) -> None:
        value = "Zo\u00eb \u260e \U0001f4de"  # 2-, 3- and 4-byte characters
        data = f"Event: Newchannel\r\nCallerIDName: {value}\r\n\r\n".encode()
        start = data.index("\U0001f4de".encode())
        got = feed_all([data[: start + cut], data[start + cut :]], Role.SERVER)
        assert got == [Event((("Event", "Newchannel"), ("CallerIDName", value)))]

    @given(st.text(min_size=1).filter(lambda s: not set(s) & {"\r", "\n", "\x00"}), st.data())
    def test_any_text_split_anywhere(self, value: str, data: st.DataObject) -> None:
        wire = f"Event: X\r\nValue: {value}\r\n\r\n".encode()
        cut = data.draw(st.integers(0, len(wire)))
        assert feed_all([wire[:cut], wire[cut:]], Role.SERVER) == [
            Event((("Event", "X"), ("Value", value)))
        ]

    def test_invalid_utf8_is_kept_as_latin1(self) -> None:
        got = feed_all([b"Event: X\r\nName: caf\xe9\r\n\r\n"], Role.SERVER)
        assert got == [Event((("Event", "X"), ("Name", "caf\u00e9")))]

    @pytest.mark.parametrize("name", ONE_SESSION)
    def test_lf_only_line_ends_are_accepted(self, name: str) -> None:
        data = transcripts.load(name).received_bytes().replace(b"\r\n", b"\n")
        assert feed_all(split(data, [7, 300])) == expected_received(name)

    def test_oversized_message_is_malformed_and_the_stream_goes_on(self) -> None:
        big = b"Event: Big\r\nData: " + b"x" * 5000 + b"\r\n\r\n"
        data = big + b"Event: Next\r\n\r\n"
        got = feed_all([data], Role.SERVER, max_message_bytes=1000)
        assert len(got) == 2
        assert isinstance(got[0], MalformedMessage)
        assert got[0].raw.startswith(b"Event: Big")
        assert got[1] == Event((("Event", "Next"),))

    def test_oversized_message_without_end_is_malformed_once(self) -> None:
        got = feed_all(
            [b"Event: Big\r\nData: " + b"x" * 5000], Role.SERVER, max_message_bytes=1000
        )
        assert len(got) == 1 and isinstance(got[0], MalformedMessage)

    @pytest.mark.parametrize("sizes", [[1], [7], [999], [1001], [4096]])
    def test_oversized_message_is_one_malformed_however_it_arrives(self, sizes: list[int]) -> None:
        # The tail of an oversized message must not come out as messages of its own:
        # here it even looks like a Response that could complete someone's action.
        big = (
            b"Event: Big\r\nData: "
            + b"x" * 1500
            + b"\r\nResponse: Success\r\nActionID: olive-1\r\n\r\n"
        )
        data = big + b"Event: Next\r\n\r\n"
        whole = feed_all([data], Role.SERVER, max_message_bytes=1000)
        assert feed_all(split(data, sizes), Role.SERVER, max_message_bytes=1000) == whole
        assert [type(m) for m in whole] == [MalformedMessage, Event]

    def test_garbage_is_malformed_and_the_stream_goes_on(self) -> None:
        data = b"this is not AMI\r\n\r\nEvent: Next\r\n\r\n"
        got = feed_all([data], Role.SERVER)
        assert isinstance(got[0], MalformedMessage)
        assert got[0].raw == b"this is not AMI"
        assert got[1:] == [Event((("Event", "Next"),))]

    def test_message_without_event_response_or_action_is_malformed(self) -> None:
        got = feed_all([b"Foo: bar\r\n\r\nEvent: Next\r\n\r\n"], Role.SERVER)
        assert isinstance(got[0], MalformedMessage)
        assert got[1:] == [Event((("Event", "Next"),))]

    def test_truncated_at_eof_is_malformed(self) -> None:
        data = transcripts.load("02_busy").received_bytes()
        got = feed_all([data[:-1]])  # the last blank line lacks its LF
        assert got[:-1] == expected_received("02_busy")[:-1]
        assert isinstance(got[-1], MalformedMessage)
        assert got[-1].raw.startswith(b"Response: Goodbye")

    def test_stray_blank_lines_between_messages_are_ignored(self) -> None:
        data = b"\r\n\r\nEvent: A\r\n\r\n\r\n\nEvent: B\r\n\r\n\r\n"
        assert feed_all(split(data, [1]), Role.SERVER) == [
            Event((("Event", "A"),)),
            Event((("Event", "B"),)),
        ]

    @pytest.mark.parametrize("role", list(Role))
    @settings(max_examples=150, deadline=None)
    @given(
        data=st.lists(
            st.sampled_from(
                [b"\r", b"\n", b"\r\n", b"Event: A", b"Response: Success", b": ", b"x" * 40,
                 b"\xc3", b"\xa9", b"ActionID: 1", b" ", b"Action: Ping"]
            ),
            max_size=40,
        ).map(b"".join),
        sizes=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
    )
    def test_any_bytes_give_the_same_messages_however_they_arrive(
        self, role: Role, data: bytes, sizes: list[int]
    ) -> None:
        whole = feed_all([data], role, max_message_bytes=64)
        assert feed_all(split(data, sizes), role, max_message_bytes=64) == whole

    @pytest.mark.parametrize("name", NAMES)
    def test_server_role_parses_the_sent_actions(self, name: str) -> None:
        sent = transcripts.load(name).sent()
        data = b"".join(e.wire() for e in sent)
        got = feed_all(split(data, [5, 11]), Role.SERVER)
        assert got == [expected(e) for e in sent]
        assert len(got) == recorded_count(name, "sent")
        assert all(isinstance(m, Action) for m in got)
        assert got[0].name == "Login"  # type: ignore[union-attr]

    def test_server_role_reads_no_banner(self) -> None:
        got = feed_all([b"Action: Ping\r\nActionID: 1\r\n\r\n"], Role.SERVER)
        assert got == [Action((("Action", "Ping"), ("ActionID", "1")))]


class TestReceiveData:
    def test_empty_bytes_mean_end_of_stream(self) -> None:
        codec = AMICodec(Role.SERVER)
        codec.receive_data(b"Action: Ping\r\n\r\n")
        codec.receive_data(b"")
        assert codec.next_message() == Action((("Action", "Ping"),))
        assert codec.next_message() is CLOSED
        assert codec.next_message() is CLOSED

    def test_data_after_end_of_stream_is_refused(self) -> None:
        codec = AMICodec(Role.SERVER)
        codec.receive_data(b"")
        with pytest.raises(RuntimeError):
            codec.receive_data(b"Action: Ping\r\n\r\n")

    def test_banner_split_across_reads(self) -> None:
        codec = AMICodec(Role.CLIENT)
        codec.receive_data(b"Asterisk Call Man")
        assert codec.next_message() is NEED_DATA
        codec.receive_data(b"ager/11.0.0\r")
        assert codec.next_message() is NEED_DATA
        codec.receive_data(b"\nResponse: Success\r\n\r\n")
        assert codec.next_message() == BANNER
        assert codec.next_message() == Response((("Response", "Success"),))


class TestSend:
    def test_client_sends_actions(self) -> None:
        data = AMICodec(Role.CLIENT).send(action("Ping", ActionID="7"))
        assert data == b"Action: Ping\r\nActionID: 7\r\n\r\n"

    @pytest.mark.parametrize(
        "message", [Response((("Response", "Success"),)), Event((("Event", "X"),)), BANNER]
    )
    def test_client_refuses_to_send_server_messages(self, message: ParsedMessage) -> None:
        with pytest.raises(AMIValueError):
            AMICodec(Role.CLIENT).send(message)  # type: ignore[arg-type]

    def test_server_refuses_to_send_actions(self) -> None:
        with pytest.raises(AMIValueError):
            AMICodec(Role.SERVER).send(action("Ping"))

    @pytest.mark.parametrize("name", NAMES)
    def test_server_reproduces_the_received_bytes(self, name: str) -> None:
        # What the simulator writes is byte for byte what Asterisk wrote.
        t = transcripts.load(name)
        server = AMICodec(Role.SERVER)
        sent = b"".join(server.send(expected(e)) for e in t.received())  # type: ignore[arg-type]
        assert sent == t.received_bytes()

    @pytest.mark.parametrize("name", NAMES)
    def test_client_reproduces_the_sent_bytes(self, name: str) -> None:
        t = transcripts.load(name)
        client = AMICodec(Role.CLIENT)
        sent = b"".join(client.send(expected(e)) for e in t.sent())  # type: ignore[arg-type]
        assert sent == b"".join(e.wire() for e in t.sent())
