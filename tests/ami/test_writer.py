"""olive.ami._writer: every name and value checked, nothing written on a refusal.

h11 refuses illegal header bytes when it builds a request (h11/_headers.py);
olive refuses CR, LF, NUL (and every control character) the same way, so a phone number can never
smuggle a second action onto the wire.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.ami import (
    Action,
    AMICodec,
    AMIValueError,
    Banner,
    Event,
    Response,
    Role,
    check_header,
)
from olive.ami._writer import check_variable, serialize

from .helpers import feed_all

names = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True).filter(
    lambda n: n.lower() != "variable"
)
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")),
    max_size=60,
)
headers = st.lists(st.tuples(names, values), max_size=12)


class TestSerialize:
    @given(name=values, rest=headers)
    def test_actions_round_trip(self, name: str, rest: list[tuple[str, str]]) -> None:
        act = Action((("Action", name), *rest))
        data = AMICodec(Role.CLIENT).send(act)
        assert feed_all([data], Role.SERVER) == [act]

    @given(name=values, rest=headers)
    def test_events_round_trip(self, name: str, rest: list[tuple[str, str]]) -> None:
        event = Event((("Event", name), *rest))
        data = b"Asterisk Call Manager/11.0.0\r\n" + AMICodec(Role.SERVER).send(event)
        assert feed_all([data]) == [Banner("Asterisk Call Manager/11.0.0"), event]

    def test_wire_format(self) -> None:
        act = Action((("Action", "Originate"), ("Variable", "A=1"), ("Variable", "B=2")))
        assert serialize(act) == (
            b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
        )

    def test_utf8_on_the_wire(self) -> None:
        assert serialize(Event((("Event", "X"), ("Name", "Zo\u00eb")))) == (
            b"Event: X\r\nName: Zo\xc3\xab\r\n\r\n"
        )

    def test_banner(self) -> None:
        assert serialize(Banner("Asterisk Call Manager/11.0.0")) == (
            b"Asterisk Call Manager/11.0.0\r\n"
        )

    @pytest.mark.parametrize("text", ["Asterisk\r\nAction: Command", "Asterisk\n", "A\x00"])
    def test_banner_with_a_line_break_is_refused(self, text: str) -> None:
        with pytest.raises(AMIValueError):
            serialize(Banner(text))

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("Channel", "PJSIP/1001\r\nAction: Command"),
            ("Channel", "PJSIP/1001\nAction: Command"),
            ("Channel", "PJSIP/1001\rAction: Command"),
            ("Exten", "s\r\n\r\nAction: Logoff"),
            ("Context", "dialer\x00"),
            ("CallerID", '"Olive" <9000>\n'),
            ("Variable", "x=1\nAction: Originate"),
            ("ActionID", "1\r\n"),
            ("Action", "Originate\r\nChannel: Local/1@x"),
        ],
    )
    def test_cr_lf_nul_in_any_value_is_refused_naming_the_header(
        self, name: str, value: str
    ) -> None:
        act = Action((("Action", "Originate"), ("Async", "true"), (name, value)))
        with pytest.raises(AMIValueError, match=rf"\b{name}\b"):
            AMICodec(Role.CLIENT).send(act)

    @settings(max_examples=50, deadline=None)
    @given(
        before=headers,
        after=headers,
        name=names,
        value=st.tuples(values, st.sampled_from(["\r", "\n", "\r\n", "\x00"]), values).map(
            "".join
        ),
    )
    def test_a_line_break_anywhere_refuses_the_whole_message(
        self,
        before: list[tuple[str, str]],
        after: list[tuple[str, str]],
        name: str,
        value: str,
    ) -> None:
        act = Action((("Action", "Ping"), *before, (name, value), *after))
        with pytest.raises(AMIValueError):
            serialize(act)
        with pytest.raises(AMIValueError):
            serialize(Response((("Response", "Success"), *before, (name, value), *after)))

    def test_variable_assignments_are_checked_in_actions(self) -> None:
        with pytest.raises(AMIValueError, match="variable"):
            serialize(Action((("Action", "Originate"), ("Variable", "1BAD=x"))))

    def test_variable_in_an_event_is_a_name_not_an_assignment(self) -> None:
        # VarSet: "Variable: RING" (the simulator must be able to write it).
        event = Event((("Event", "VarSet"), ("Variable", "RING"), ("Value", "6")))
        assert serialize(event) == b"Event: VarSet\r\nVariable: RING\r\nValue: 6\r\n\r\n"


class TestCheckHeader:
    @pytest.mark.parametrize(
        "name",
        ["", "Bad Name", "Bad:Name", "Caf\u00e9", "Name\r\n", "Name\n", " Lead", "A\x00", "A/B"],
    )
    def test_bad_names_are_refused(self, name: str) -> None:
        with pytest.raises(AMIValueError, match="name"):
            check_header(name, "x")

    @pytest.mark.parametrize("name", ["Action", "ActionID", "Cause-txt", "X_1", "a"])
    def test_good_names(self, name: str) -> None:
        check_header(name, "value with spaces: and colons")

    def test_values_must_be_text(self) -> None:
        with pytest.raises(AMIValueError, match="Timeout"):
            check_header("Timeout", 30000)  # type: ignore[arg-type]

    def test_values_that_are_not_unicode_text_are_refused(self) -> None:
        # A lone surrogate cannot be encoded: refuse it as a value, not crash in encode().
        with pytest.raises(AMIValueError, match="Channel"):
            check_header("Channel", "PJSIP/\ud800")

    @pytest.mark.parametrize("name", ["Secret", "secret", "Key"])
    def test_a_refused_secret_is_not_echoed(self, name: str) -> None:
        with pytest.raises(AMIValueError) as info:
            check_header(name, "hunter2\r\nAction: Command")
        assert name in str(info.value)
        assert "hunter2" not in str(info.value)

    def test_other_refused_values_are_shown(self) -> None:
        with pytest.raises(AMIValueError, match="PJSIP/1001"):
            check_header("Channel", "PJSIP/1001\r\n")


class TestCheckVariable:
    @pytest.mark.parametrize(
        "assignment",
        ["OLIVE_CALL_ID=call_01", "__INHERITED=1", "_ONE=1", "CDR(userfield)=x", "EMPTY="],
    )
    def test_good_assignments(self, assignment: str) -> None:
        check_variable(assignment)

    @pytest.mark.parametrize(
        "assignment",
        ["NOEQUALS", "=value", "1ABC=x", "A B=x", "A;B=x", "A\u00e9=x", "A.B=x", " A=x"],
    )
    def test_bad_assignments_are_refused(self, assignment: str) -> None:
        with pytest.raises(AMIValueError, match="variable"):
            check_variable(assignment)


class TestVariableHeaders:
    """Only Originate's ``Variable:`` lines are assignments; Getvar and Setvar name one variable."""

    def test_getvar_and_setvar_name_a_variable(self) -> None:
        from olive import ami

        codec = ami.AMICodec()
        assert b"Variable: QUEUESTATUS\r\n" in codec.send(ami.action("Getvar", Channel="PJSIP/1-1", Variable="QUEUESTATUS"))
        assert b"Variable: CDR(userfield)\r\n" in codec.send(
            ami.action("Setvar", Channel="PJSIP/1-1", Variable="CDR(userfield)", Value="x")
        )

    @pytest.mark.parametrize("bad", ["A=B", "1ABC", "A B", ""])
    def test_a_setvar_name_is_a_plain_name(self, bad: str) -> None:
        from olive import ami

        with pytest.raises(ami.AMIValueError):
            ami.action("Setvar", Channel="PJSIP/1-1", Variable=bad, Value="x")

    def test_originate_variables_are_assignments(self) -> None:
        from olive import ami

        with pytest.raises(ami.AMIValueError):
            ami.action("Originate", [("Variable", "JUSTANAME")], Channel="Local/1@c")


def _one_by_one(headers: tuple[tuple[str, str], ...], assignments: bool) -> None:
    """The checks as they were, header by header (the reference for the joined fast path)."""
    from olive.ami._writer import _VARIABLE_NAME

    for name, value in headers:
        check_header(name, value)
        if name.lower() != "variable":
            continue
        if assignments:
            check_variable(value)
        elif not _VARIABLE_NAME.match(value):
            raise AMIValueError(f"illegal channel variable name {value!r}")


_any_name = st.one_of(
    st.sampled_from(["Action", "Channel", "Variable", "variable", "Secret", "ActionID", "Chan:nel", "A B", ""]),
    st.text(alphabet=st.sampled_from("Ab9_-: \r\n\x00\x85\u200b\u00e9"), max_size=6),
)
_any_value = st.one_of(
    st.sampled_from(["PJSIP/101", "A=1", "OLIVE_CALL=c1", "=x", "1 2", "caf\u00e9", ""]),
    st.text(max_size=8),  # any code point: controls, format characters, lone surrogates
)


class TestJoinedChecksEqualOneByOne:
    """check_headers checks all names and all values at once; whatever it is given, it
    accepts what the header-by-header checks accept and refuses the rest with their error."""

    @settings(max_examples=400, deadline=None)
    @given(
        headers=st.lists(st.tuples(_any_name, _any_value), max_size=6).map(tuple),
        assignments=st.booleans(),
    )
    def test_same_verdict_and_message(self, headers: tuple[tuple[str, str], ...], assignments: bool) -> None:
        from olive.ami._writer import check_headers

        try:
            _one_by_one(headers, assignments)
            expected = None
        except AMIValueError as exc:
            expected = str(exc)
        try:
            check_headers(headers, assignments=assignments)
            got = None
        except AMIValueError as exc:
            got = str(exc)
        assert got == expected

    @pytest.mark.parametrize(
        "bad",
        [("Channel", "PJSIP/1\r\nAction: Command"), ("Exten", "1\n"), ("Chan:nel", "x"), ("Data", "\ud800"), ("Data", 5)],
    )
    def test_a_bad_header_among_clean_ones_is_refused(self, bad: tuple[str, object]) -> None:
        from olive.ami._writer import check_headers

        headers = (("Action", "Originate"), ("ActionID", "a1"), bad, ("Variable", "A=1"))
        with pytest.raises(AMIValueError):
            check_headers(headers)  # type: ignore[arg-type]
        with pytest.raises(AMIValueError):
            serialize(Action(headers))  # type: ignore[arg-type]
