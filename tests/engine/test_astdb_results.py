"""What olive concludes from deleting a seen call's result in AstDB (PbxLink.forget_result).

Found on a real Asterisk 22 (`core restart now` mid-campaign): Asterisk hangs
up every call before it closes AMI, olive sees them end and deletes their
results, and Asterisk, shutting down, refuses every action with "Asterisk is
shutting down" (manager.c). olive took that refusal for "the dialplan leaves
no results in AstDB" and logged that the outcome of calls ending while it was
away could not be known. Only the real "no such key" answer (transcripts 19
and 20: "Database entry could not be deleted") says so.
"""

from __future__ import annotations

import logging

import pytest
from tests.engine.test_bad_events import ManualClock
from tests.support.transcripts import load

from olive import ami
from olive.engine._link import PbxLink


def recorded_dbdel_responses() -> list[ami.Response]:
    """The DBDel answers recorded in transcript 19: first the key is there, then it is not."""
    t = load("19_outcome_in_astdb_connected")
    ids = [e.get("ActionID") for e in t.sent() if e.get("Action") == "DBDel"]
    out = []
    for aid in ids:
        entry = next(e for e in t.received() if e.get("ActionID") == aid and e.get("Response"))
        out.append(ami.Response(tuple(entry.headers())))
    return out


class _Client:
    def __init__(self, reply: ami.Response) -> None:
        self.reply = reply
        self.sent: list[ami.Action] = []

    def on_event(self, h: object) -> None: ...
    def on_connect(self, h: object) -> None: ...
    def on_disconnect(self, h: object) -> None: ...

    async def send_action(self, action: ami.Action, check: bool = True) -> ami.Response:
        self.sent.append(action)
        return self.reply


def link_answering(reply: ami.Response) -> PbxLink:
    return PbxLink("default", _Client(reply), ManualClock(0.0))  # type: ignore[arg-type]


async def test_a_deleted_result_says_the_dialplan_records_results() -> None:
    deleted, _ = recorded_dbdel_responses()
    link = link_answering(deleted)
    await link.forget_result("call_1")
    assert link.astdb_results is True


async def test_no_such_key_says_the_dialplan_records_none(caplog: pytest.LogCaptureFixture) -> None:
    _, missing = recorded_dbdel_responses()
    assert missing.message == "Database entry could not be deleted"
    link = link_answering(missing)
    with caplog.at_level(logging.WARNING, "olive.engine"):
        await link.forget_result("call_1")
    assert link.astdb_results is False
    assert any("no [olive-outcome] hangup handler" in r.getMessage() for r in caplog.records)


async def test_a_refusal_while_asterisk_shuts_down_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    refused = ami.Response((("Response", "Error"), ("ActionID", "olive-1"), ("Message", "Asterisk is shutting down")))
    link = link_answering(refused)
    with caplog.at_level(logging.WARNING, "olive.engine"):
        await link.forget_result("call_1")
    assert link.astdb_results is None, "not known yet: the key may well be there"
    assert not any("hangup handler" in r.getMessage() for r in caplog.records)
