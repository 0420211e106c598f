"""olive.ami._originate: the Originate a dialer sends, with the Timeout trap closed.

Asterisk's Originate ``Timeout`` is milliseconds: transcript 06 sent
``Timeout: 30`` and every call failed 34 ms later with Reason 3.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olive.ami import (
    MAX_DIAL_TIMEOUT_S,
    MIN_DIAL_TIMEOUT_S,
    Action,
    AMICodec,
    AMIValueError,
    OriginateRequest,
    Role,
    dial_timeout_ms,
    originate_action,
)
from support import transcripts

from .helpers import feed_all


def asterisk_variables(header_value: str) -> list[tuple[str, str]]:
    """The variables Asterisk 22 sets from one ``Variable:`` header value (see olive.sim._appargs)."""
    from olive.sim._appargs import split_variables

    return split_variables(header_value)


def request(**changes: object) -> OriginateRequest:
    fields: dict[str, object] = {
        "call_id": "call_01JABCDEF",
        "channel": "PJSIP/+15551234567@trunk",
        "context": "dialer",
        "dial_timeout_s": 30,
        "caller_id": '"Olive Dialer" <9000>',
        "variables": {"OLIVE_CALL_ID": "call_01JABCDEF", "OLIVE_CAMPAIGN_ID": "cmp_1"},
    }
    fields.update(changes)
    return OriginateRequest(**fields)  # type: ignore[arg-type]


class TestAsteriskVariablesPort:
    """The oracle itself, against cases worked through Asterisk's C by hand."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("A=1", [("A", "1")]),
            ("A=1,B=2", [("A", "1"), ("B", "2")]),
            ("NOTE=Smith, John", [("NOTE", "Smith")]),  # " John" has no '=': dropped
            ('Q="a,b"', [("Q", "a,b")]),
            ("F=x(a,b)", [("F", "x(a,b)")]),
            ("E=a\\,b", [("E", "a,b")]),
            ("=x,Y=1", [("Y", "1")]),
        ],
    )
    def test_cases(self, value: str, expected: list[tuple[str, str]]) -> None:
        assert asterisk_variables(value) == expected


class TestDialTimeoutMs:
    @pytest.mark.parametrize(
        ("seconds", "ms"), [(30, 30000), (1, 1000), (300, 300000), (1.5, 1500), (5.0, 5000)]
    )
    def test_seconds_become_milliseconds(self, seconds: float, ms: int) -> None:
        assert dial_timeout_ms(seconds) == ms

    def test_the_bounds(self) -> None:
        assert (MIN_DIAL_TIMEOUT_S, MAX_DIAL_TIMEOUT_S) == (1, 300)

    @pytest.mark.parametrize(
        "seconds", [0.5, 0, -1, 0.999, 300.001, 301, math.nan, math.inf, -math.inf]
    )
    def test_out_of_range_is_refused(self, seconds: float) -> None:
        with pytest.raises(AMIValueError, match="1 to 300 seconds"):
            dial_timeout_ms(seconds)

    @pytest.mark.parametrize("seconds", [True, "30", None, b"30"])
    def test_non_numbers_are_refused(self, seconds: object) -> None:
        with pytest.raises(AMIValueError):
            dial_timeout_ms(seconds)  # type: ignore[arg-type]

    @given(st.floats(allow_nan=True, allow_infinity=True) | st.integers())
    def test_never_under_1000_ms(self, seconds: float) -> None:
        try:
            ms = dial_timeout_ms(seconds)
        except AMIValueError:
            assert not (1 <= seconds <= 300)
        else:
            assert 1000 <= ms <= 300_000
            assert abs(ms - seconds * 1000) <= 0.5


class TestOriginateAction:
    def test_the_whole_action(self) -> None:
        assert originate_action(request()).headers == (
            ("Action", "Originate"),
            ("Channel", "PJSIP/+15551234567@trunk"),
            ("Context", "dialer"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Timeout", "30000"),
            ("CallerID", '"Olive Dialer" <9000>'),
            ("ChannelId", "call_01JABCDEF"),
            ("Variable", "OLIVE_CALL_ID=call_01JABCDEF"),
            ("Variable", "OLIVE_CAMPAIGN_ID=cmp_1"),
            ("Async", "true"),
        )

    def test_matches_what_the_recorded_originate_sent(self) -> None:
        # Transcript 10: ChannelId, Variable lines, Async, Timeout 30000 ms.
        sent = transcripts.load("10_originate_with_channelid").originate()
        variables = dict(v.split("=", 1) for v in [value for n, value in sent.headers() if n == "Variable"])
        built = originate_action(
            OriginateRequest(
                call_id=sent.get("ChannelId") or "",
                channel=sent.get("Channel") or "",
                context=sent.get("Context") or "",
                dial_timeout_s=30,
                caller_id=sent.get("CallerID"),
                variables=variables,
            )
        )
        recorded = {(n, v) for n, v in sent.headers() if n not in ("ActionID", "OtherChannelId")}
        assert set(built.headers) == recorded

    def test_channel_id_is_the_call_id(self) -> None:
        act = originate_action(request(call_id="call_XYZ"))
        assert act.get_all("ChannelId") == ("call_XYZ",)

    def test_async_is_true(self) -> None:
        assert originate_action(request()).get("Async") == "true"

    def test_timeout_is_milliseconds(self) -> None:
        assert originate_action(request(dial_timeout_s=45)).get("Timeout") == "45000"

    @pytest.mark.parametrize("seconds", [0.03, 0.5, 301])
    def test_out_of_range_timeout_is_refused(self, seconds: float) -> None:
        with pytest.raises(AMIValueError):
            originate_action(request(dial_timeout_s=seconds))

    def test_no_caller_id_no_header(self) -> None:
        assert "CallerID" not in originate_action(request(caller_id=None))

    def test_serializes(self) -> None:
        act = originate_action(request())
        data = AMICodec(Role.CLIENT).send(act)
        assert feed_all([data], Role.SERVER) == [act]

    @pytest.mark.parametrize(
        ("field", "value", "header"),
        [
            ("channel", "PJSIP/1001\r\nAction: Command", "Channel"),
            ("channel", "PJSIP/1001\nAction: Command", "Channel"),
            ("context", "dialer\r", "Context"),
            ("exten", "s\nAction: Logoff", "Exten"),
            ("caller_id", '"x" <1>\r\n', "CallerID"),
            ("call_id", "call_1\r\nAction: Originate", "ChannelId"),
            ("variables", {"X": "x\nAction: Originate"}, "Variable"),
            ("variables", {"X\r\nAction: Originate\r\nY": "1"}, "Variable"),
        ],
    )
    def test_cr_lf_anywhere_is_refused_when_built(
        self, field: str, value: object, header: str
    ) -> None:
        with pytest.raises(AMIValueError, match=f"(?i){header}"):
            originate_action(request(**{field: value}))

    @pytest.mark.parametrize("name", ["BAD NAME", "1X", "", "A=B", "X,Y"])
    def test_variable_names_are_checked(self, name: str) -> None:
        with pytest.raises(AMIValueError):
            originate_action(request(variables={name: "1"}))

    @pytest.mark.parametrize(
        "value",
        ["Smith, John", "a,OLIVE_CALL_ID=call_evil", 'O"Brien', "C:\\temp", "f(x,y)", "[1,2]",
         "a=b", "trailing\\", ""],
    )
    def test_asterisk_reads_back_exactly_each_variable(self, value: str) -> None:
        act = originate_action(request(variables={"NOTE": value, "OLIVE_CALL_ID": "call_1"}))
        got = [var for line in act.get_all("Variable") for var in asterisk_variables(line)]
        assert got == [("NOTE", value), ("OLIVE_CALL_ID", "call_1")]

    @given(
        st.dictionaries(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True),
            st.text(
                alphabet=st.characters(
                    blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")
                )
                | st.sampled_from(list(',"\\()[]= ')),
                max_size=30,
            ),
            max_size=6,
        )
    )
    def test_any_variables_arrive_intact(self, variables: dict[str, str]) -> None:
        act = originate_action(request(variables=variables))
        got = [var for line in act.get_all("Variable") for var in asterisk_variables(line)]
        assert got == list(variables.items())

    def test_is_an_action(self) -> None:
        assert isinstance(originate_action(request()), Action)
