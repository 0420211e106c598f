"""olive.ami._messages: frozen, slotted messages with every header kept raw."""

from __future__ import annotations

import dataclasses

import pytest

from olive.ami import (
    CLOSED,
    NEED_DATA,
    Action,
    AMIValueError,
    Banner,
    Event,
    MalformedMessage,
    Message,
    Response,
    action,
)

EVENT = Event(
    (
        ("Event", "OriginateResponse"),
        ("ActionID", "olive-1"),
        ("Response", "Failure"),
        ("Uniqueid", "<unknown>"),
        ("AccountCode", ""),
        ("Variable", "A=1"),
        ("variable", "B=2"),
    )
)


class TestMessage:
    def test_get_is_case_insensitive_and_returns_the_first(self) -> None:
        assert EVENT.get("uniqueid") == "<unknown>"
        assert EVENT.get("VARIABLE") == "A=1"

    def test_get_default(self) -> None:
        assert EVENT.get("Nope") is None
        assert EVENT.get("Nope", "d") == "d"

    def test_empty_value_is_present(self) -> None:
        assert EVENT.get("AccountCode") == ""
        assert "AccountCode" in EVENT
        assert "Nope" not in EVENT
        assert 3 not in EVENT

    def test_get_all_keeps_repeats_in_order(self) -> None:
        assert EVENT.get_all("Variable") == ("A=1", "B=2")
        assert EVENT.get_all("Nope") == ()

    def test_getitem(self) -> None:
        assert EVENT["actionid"] == "olive-1"
        with pytest.raises(KeyError):
            EVENT["Nope"]

    def test_iterates_headers(self) -> None:
        assert list(EVENT) == list(EVENT.headers)

    def test_action_id(self) -> None:
        assert EVENT.action_id == "olive-1"
        assert Event((("Event", "X"),)).action_id is None

    @pytest.mark.parametrize(
        "message",
        [EVENT, Response((("Response", "Success"),)), Action((("Action", "Ping"),))],
    )
    def test_frozen_and_slotted(self, message: Message) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            message.headers = ()  # type: ignore[misc]
        assert not hasattr(message, "__dict__")

    def test_equal_by_kind_and_headers(self) -> None:
        headers = (("Response", "Success"),)
        assert Response(headers) == Response(headers)
        assert Response(headers) != Event(headers)
        assert hash(Response(headers)) == hash(Response(headers))


class TestResponse:
    @pytest.mark.parametrize(
        ("value", "ok"),
        [("Success", True), ("success", True), ("Goodbye", True), ("Follows", True),
         ("Error", False), ("Failure", False), ("", False)],
    )
    def test_ok(self, value: str, ok: bool) -> None:
        assert Response((("Response", value),)).ok is ok

    def test_starts_list(self) -> None:
        assert Response((("Response", "Success"), ("EventList", "start"))).starts_list
        assert not Response((("Response", "Success"),)).starts_list

    def test_message(self) -> None:
        r = Response((("Response", "Error"), ("Message", "Authentication failed")))
        assert r.response == "Error"
        assert r.message == "Authentication failed"


class TestEvent:
    def test_name(self) -> None:
        assert EVENT.name == "OriginateResponse"
        assert Event((("Foo", "x"),)).name == ""

    def test_completes_list(self) -> None:
        done = Event((("Event", "QueueStatusComplete"), ("EventList", "Complete")))
        assert done.completes_list
        assert not Event((("Event", "QueueMember"),)).completes_list


class TestActionWithActionId:
    def test_inserted_after_the_action_line(self) -> None:
        act = action("QueueStatus", Queue="q").with_action_id("olive-7")
        assert act.headers == (("Action", "QueueStatus"), ("ActionID", "olive-7"), ("Queue", "q"))

    def test_replaces_an_existing_one(self) -> None:
        act = action("Ping", ActionID="old").with_action_id("new")
        assert act.get_all("ActionID") == ("new",)
        assert act.name == "Ping"


class TestAction:
    def test_keywords_render_values(self) -> None:
        act = action("QueuePause", Queue="q", Paused=True, Penalty=0, Reason=None)
        assert act.headers == (
            ("Action", "QueuePause"),
            ("Queue", "q"),
            ("Paused", "true"),
            ("Penalty", "0"),
        )

    def test_positional_headers_keep_order_and_repeats(self) -> None:
        act = action("Originate", [("Variable", "A=1"), ("Variable", "B=2")], Async=True)
        assert act.headers == (
            ("Action", "Originate"),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
            ("Async", "true"),
        )

    @pytest.mark.parametrize(
        "build",
        [
            lambda: action("Ping", ActionID="1\r\nAction: Logoff"),
            lambda: action("Ping\nAction: Logoff"),
            lambda: action("Originate", [("Channel", "PJSIP/1\r\n")]),
            lambda: action("Originate", [("Variable", "x=1\nAction: Originate")]),
            lambda: action("Originate", [("Bad Name", "x")]),
            lambda: action("Originate", [("Variable", "1BAD=x")]),
        ],
    )
    def test_values_are_checked_when_the_action_is_built(self, build: object) -> None:
        with pytest.raises(AMIValueError):
            build()  # type: ignore[operator]


class TestSentinels:
    def test_reprs(self) -> None:
        assert repr(NEED_DATA) == "NEED_DATA"
        assert repr(CLOSED) == "CLOSED"
        assert NEED_DATA is not CLOSED

    def test_banner_and_malformed_are_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            Banner("x").text = "y"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            MalformedMessage(b"x", "why").raw = b""  # type: ignore[misc]
