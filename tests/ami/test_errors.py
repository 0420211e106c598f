"""olive.ami._errors: one root, split by whose fault it is, drawn in the module docstring."""

from __future__ import annotations

import re

import pytest

import olive.ami
from olive.ami import (
    AMIActionError,
    AMIAuthenticationError,
    AMIConnectionError,
    AMIConnectionLost,
    AMIError,
    AMIProtocolError,
    AMITimeout,
    AMIValueError,
    Response,
    _errors,
)


def drawn_tree() -> dict[str, str]:
    """child -> parent, as the docstring draws it."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (_errors.__doc__ or "").splitlines():
        m = re.match(r"^(\s*)(?:[├└]── )?(AMI\w+)", line)
        if not m:
            continue
        depth = len(m.group(1)) + (0 if "──" not in line else 1)
        name = m.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


class TestTree:
    def test_the_docstring_tree_is_the_class_tree(self) -> None:
        drawn = drawn_tree()
        assert len(drawn) == 7
        for child, parent in drawn.items():
            assert getattr(olive.ami, child).__bases__[0] is getattr(olive.ami, parent)

    @pytest.mark.parametrize(
        ("error", "builtin"),
        [
            (AMIValueError, ValueError),
            (AMITimeout, TimeoutError),
            (AMIConnectionError, ConnectionError),
            (AMIConnectionLost, ConnectionError),
            (AMIAuthenticationError, ConnectionError),
        ],
    )
    def test_builtin_bases_for_callers_who_catch_those(
        self, error: type[Exception], builtin: type[Exception]
    ) -> None:
        assert issubclass(error, builtin)
        assert issubclass(error, AMIError)

    def test_protocol_and_action_errors_are_not_connection_errors(self) -> None:
        assert not issubclass(AMIProtocolError, ConnectionError)
        assert not issubclass(AMIActionError, ConnectionError)


class TestAMIActionError:
    def test_carries_the_action_and_response(self) -> None:
        response = Response((("Response", "Error"), ("Message", "No such channel")))
        error = AMIActionError("Hangup", response)
        assert (error.action, error.response) == ("Hangup", response)
        assert str(error) == "Hangup failed: No such channel"

    def test_without_a_message(self) -> None:
        error = AMIActionError("Hangup", Response((("Response", "Error"),)))
        assert str(error) == "Hangup failed: no message"
