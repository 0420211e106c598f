"""olive.ami._events: typed views of the events a dialer acts on, checked on real traffic."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.ami import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentRingNoAnswer,
    AMIProtocolError,
    BridgeEnter,
    ChannelRef,
    CoreShowChannel,
    DialBegin,
    DialEnd,
    Event,
    FullyBooted,
    Hangup,
    HangupRequest,
    Newchannel,
    Newstate,
    OriginateResponse,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueMemberState,
    VarSet,
    parse_event,
)
from olive.ami._events import MODELLED_EVENTS
from support import transcripts

from .helpers import feed_all

NAMES = transcripts.names()


@cache
def events(name: str) -> tuple[Event, ...]:
    got = feed_all([transcripts.load(name).received_bytes()])
    return tuple(m for m in got if isinstance(m, Event))


_T = TypeVar("_T")


def typed(name: str, kind: type[_T]) -> list[_T]:
    return [t for e in events(name) if isinstance(t := parse_event(e), kind)]


def first_raw(event_name: str) -> Event:
    """The first recorded event called ``event_name`` in any transcript."""
    for name in NAMES:
        for e in events(name):
            if e.name == event_name:
                return e
    raise LookupError(event_name)


def without(event: Event, header: str) -> Event:
    return Event(tuple((n, v) for n, v in event.headers if n.lower() != header.lower()))


def replaced(event: Event, header: str, value: str) -> Event:
    return Event(tuple((n, value if n.lower() == header.lower() else v) for n, v in event.headers))


class TestParseEvent:
    @pytest.mark.parametrize("name", NAMES)
    def test_every_modelled_event_in_every_transcript_parses(self, name: str) -> None:
        modelled = [e for e in events(name) if e.name.lower() in MODELLED_EVENTS]
        assert modelled
        for event in modelled:
            assert parse_event(event) is not None, event

    def test_every_typed_view_occurs_in_the_transcripts(self) -> None:
        # Otherwise a parser could be wrong and no replay would notice.
        seen = {type(parse_event(e)) for n in NAMES for e in events(n)}
        for kind in (
            OriginateResponse, Newchannel, Newstate, DialBegin, DialEnd, Hangup, HangupRequest,
            VarSet, BridgeEnter, QueueCallerJoin, QueueCallerLeave, QueueCallerAbandon,
            AgentCalled, AgentConnect, AgentRingNoAnswer, AgentComplete, QueueMemberState,
            CoreShowChannel, FullyBooted,
        ):
            assert kind in seen, kind

    @pytest.mark.parametrize("event_name", ["SuccessfulAuth", "DeviceStateChange", "Newexten"])
    def test_unmodelled_events_are_none(self, event_name: str) -> None:
        assert parse_event(first_raw(event_name)) is None

    def test_names_match_case_insensitively(self) -> None:
        assert isinstance(parse_event(replaced(first_raw("Hangup"), "Event", "HANGUP")), Hangup)

    @pytest.mark.parametrize(
        ("event_name", "header"),
        [
            ("OriginateResponse", "Reason"),
            ("Newchannel", "Channel"),
            ("Newchannel", "Uniqueid"),
            ("Newchannel", "ChannelState"),
            ("Newstate", "ChannelState"),
            ("DialBegin", "DestChannel"),
            ("DialBegin", "DestUniqueid"),
            ("DialEnd", "DialStatus"),
            ("Hangup", "Channel"),
            ("HangupRequest", "Uniqueid"),
            ("VarSet", "Variable"),
            ("BridgeEnter", "BridgeUniqueid"),
            ("QueueCallerJoin", "Queue"),
            ("QueueCallerLeave", "Queue"),
            ("QueueCallerAbandon", "Queue"),
            ("AgentCalled", "Interface"),
            ("AgentCalled", "DestUniqueid"),
            ("AgentConnect", "Interface"),
            ("AgentRingNoAnswer", "Queue"),
            ("AgentComplete", "Queue"),
            ("QueueMemberStatus", "Interface"),
            ("QueueMemberPause", "Queue"),
            ("CoreShowChannel", "Uniqueid"),
        ],
    )
    def test_missing_required_field_raises_naming_it(self, event_name: str, header: str) -> None:
        event = first_raw(event_name)
        assert parse_event(event) is not None
        with pytest.raises(AMIProtocolError, match=rf"without {header}\b"):
            parse_event(without(event, header))

    @pytest.mark.parametrize(
        ("event_name", "header"),
        [
            ("Hangup", "Cause"),
            ("OriginateResponse", "Reason"),
            ("AgentRingNoAnswer", "RingTime"),
            ("AgentConnect", "HoldTime"),
            ("QueueMemberStatus", "Status"),
            ("Newstate", "ChannelState"),
        ],
    )
    def test_non_numeric_field_raises_naming_it(self, event_name: str, header: str) -> None:
        with pytest.raises(AMIProtocolError, match=rf"non-numeric {header}\b"):
            parse_event(replaced(first_raw(event_name), header, "soon"))


class TestOriginateResponse:
    def test_failure_without_channel_id_has_no_uniqueid(self) -> None:
        (resp,) = typed("02_busy", OriginateResponse)
        assert resp == OriginateResponse(
            action_id="02_busy-originate",
            success=False,
            reason=5,
            channel="Local/2001@customers",
            uniqueid=None,  # Asterisk says <unknown>
        )

    def test_with_channel_id_the_uniqueid_is_the_call_id(self) -> None:
        (resp,) = typed("10_originate_with_channelid", OriginateResponse)
        assert resp.success and resp.reason == 4
        assert resp.uniqueid == "olive-call-0001"

    def test_pjsip_busy_is_reason_0(self) -> None:
        (resp,) = typed("09_sipp_uas_busy", OriginateResponse)
        assert (resp.success, resp.reason) == (False, 0)

    def test_concurrent_originates_all_correlate_by_channel_id(self) -> None:
        responses = typed("15_concurrent_10_calls", OriginateResponse)
        assert len(responses) == 10
        assert sorted(r.uniqueid or "" for r in responses) == [
            f"olive-c15-{i:02d}" for i in range(1, 11)
        ]


class TestAgentEvents:
    def test_agent_ring_no_answer_ring_time_is_milliseconds(self) -> None:
        rings = typed("11_agent_no_answer", AgentRingNoAnswer)
        assert len(rings) >= 3
        assert {r.ring_time_ms for r in rings} == {5000}
        assert {r.member_name for r in rings} == {"agent901"}

    def test_agent_connect_times_are_seconds(self) -> None:
        (connect,) = typed("01_answered_connected_to_agent", AgentConnect)
        assert (connect.hold_time_s, connect.ring_time_s) == (1, 1)
        assert connect.interface == "Local/101@agents"
        assert connect.ref.uniqueid == "1795712205.0"  # the ;1 leg carries the queue events

    def test_the_fourth_answered_call_waited_for_an_agent(self) -> None:
        # INDEX.md says it waited 19 s; HoldTime counts whole seconds from the join.
        waits = {c.ref.uniqueid: c.hold_time_s for c in typed("15_concurrent_10_calls", AgentConnect)}
        assert waits["olive-c15-10"] == 20

    def test_agent_complete(self) -> None:
        (done,) = typed("01_answered_connected_to_agent", AgentComplete)
        assert (done.reason, done.hold_time_s, done.talk_time_s) == ("agent", 1, 21)

    def test_agent_legs_carry_the_call_id_as_linkedid(self) -> None:
        (called,) = typed("10_originate_with_channelid", AgentCalled)
        assert called.ref == ChannelRef(
            "Local/1001@customers-00000009;1", "olive-call-0001", "olive-call-0001"
        )
        assert called.dest.linkedid == "olive-call-0001"
        assert called.dest.uniqueid != "olive-call-0001"


class TestQueueMemberState:
    def test_queue_status_list_items_use_location_and_name(self) -> None:
        members = {
            m.member_name: m
            for m in typed("16_queue_status_snapshot", QueueMemberState)
            if m.kind == "QueueMember"
        }
        busy = members["agent101"]
        assert busy.interface == "Local/101@agents"
        assert (busy.status, busy.in_call, busy.calls_taken, busy.paused) == (2, True, 0, False)
        assert busy.paused_reason == ""
        assert members["agent102"].status == 1 and not members["agent102"].in_call

    def test_pause_with_reason(self) -> None:
        pauses = [m for m in typed("14_agent_paused", QueueMemberState) if m.kind == "QueueMemberPause"]
        assert [(p.paused, p.paused_reason) for p in pauses] == [(True, "break")]

    def test_queue_member_list_item_without_location_raises(self) -> None:
        item = next(e for e in events("16_queue_status_snapshot") if e.name == "QueueMember")
        with pytest.raises(AMIProtocolError, match="Interface"):
            parse_event(without(item, "Location"))


class TestChannelEvents:
    def test_core_show_channel_empty_bridge_id_is_none(self) -> None:
        channels = typed("16_queue_status_snapshot", CoreShowChannel)
        assert len(channels) == 4
        bridges = {c.ref.channel: c.bridge_id for c in channels}
        assert bridges["Local/1001@customers-00000019;2"] is None
        assert bridges["Local/1001@customers-00000019;1"] == "26129117-4f67-4a83-9751-26b0fd4d6823"
        assert bridges["Local/101@agents-0000001a;1"] == bridges["Local/1001@customers-00000019;1"]
        queue = next(c for c in channels if c.ref.channel.endswith("00000019;1"))
        assert (queue.application, queue.duration, queue.state) == ("Queue", "00:00:10", 6)

    def test_originate_dial_has_no_caller(self) -> None:
        begins = typed("02_busy", DialBegin)
        ends = typed("02_busy", DialEnd)
        assert [b.caller for b in begins] == [None]
        assert [(e.caller, e.dial_status) for e in ends] == [(None, "BUSY")]
        assert ends[0].dest.channel == "Local/2001@customers-00000002;1"

    def test_hangup_causes_of_the_two_local_legs(self) -> None:
        causes = {h.ref.channel: (h.cause, h.cause_txt) for h in typed("02_busy", Hangup)}
        assert causes == {
            "Local/2001@customers-00000002;2": (17, "User busy"),
            "Local/2001@customers-00000002;1": (0, "Unknown"),
        }

    def test_duplicate_dial_end_for_one_dial(self) -> None:
        statuses = [e.dial_status for e in typed("13_customer_hangup_while_agent_rings", DialEnd)]
        assert statuses.count("CANCEL") == 2

    def test_channel_id_becomes_the_uniqueid_of_both_legs(self) -> None:
        legs = {n.ref.channel: n.ref for n in typed("10_originate_with_channelid", Newchannel)}
        one = legs["Local/1001@customers-00000009;1"]
        two = legs["Local/1001@customers-00000009;2"]
        assert (one.uniqueid, two.uniqueid) == ("olive-call-0001", "olive-call-0001-2")
        assert {r.linkedid for r in legs.values()} == {"olive-call-0001"}

    def test_each_originate_variable_is_one_varset_per_local_leg(self) -> None:
        sent = transcripts.load("10_originate_with_channelid").originate()
        names = [v.partition("=")[0] for n, v in sent.headers() if n == "Variable"]
        assert len(names) == 3
        varsets = typed("10_originate_with_channelid", VarSet)
        for name in names:
            legs = sorted(v.ref.channel[-2:] for v in varsets if v.variable == name)
            assert legs == [";1", ";2"], name

    def test_queue_timeout_is_reported_as_an_abandon(self) -> None:
        (abandon,) = typed("12_queue_timeout_2s", QueueCallerAbandon)
        assert abandon.hold_time_s == 2
        status = [v.value for v in typed("12_queue_timeout_2s", VarSet) if v.variable == "QUEUESTATUS"]
        assert status == ["TIMEOUT"]

    def test_soft_hangup_request(self) -> None:
        kinds = {(h.soft, h.cause) for h in typed("02_busy", HangupRequest)}
        assert (False, 0) in kinds and (True, 16) in kinds

    def test_caller_join_and_leave(self) -> None:
        (join,) = typed("05_answered_no_agent_abandon", QueueCallerJoin)
        (leave,) = typed("05_answered_no_agent_abandon", QueueCallerLeave)
        (abandon,) = typed("05_answered_no_agent_abandon", QueueCallerAbandon)
        assert join.ref.uniqueid == leave.ref.uniqueid == abandon.ref.uniqueid
        assert join.queue == "olive-campaign" and join.position == 1
        assert abandon.hold_time_s == 3

    def test_bridge_enter(self) -> None:
        bridges = {b.bridge_id for b in typed("01_answered_connected_to_agent", BridgeEnter)}
        assert bridges and all(bridges)


class TestFilteredLogin:
    def test_a_filtered_login_never_gets_fully_booted(self) -> None:
        # panoramisk re-sends its queued actions on FullyBooted (transcript 17).
        assert typed("17_events_filtered_login", FullyBooted) == []
        assert typed("01_answered_connected_to_agent", FullyBooted) == [FullyBooted()]

    def test_a_filtered_login_gets_no_system_security_or_dialplan_events(self) -> None:
        names = {e.name for e in events("17_events_filtered_login")}
        assert not names & {"FullyBooted", "SuccessfulAuth", "VarSet", "Newexten"}
        assert {"FullyBooted", "SuccessfulAuth", "VarSet"} <= {
            e.name for e in events("01_answered_connected_to_agent")
        }

    def test_a_filtered_login_still_gets_the_call_events(self) -> None:
        assert typed("17_events_filtered_login", OriginateResponse)
        assert typed("17_events_filtered_login", AgentConnect)
        assert typed("17_events_filtered_login", VarSet) == []


class TestAgentCompleteWithoutCaller:
    def test_18_parses_without_the_callers_fields(self) -> None:
        got = feed_all([b"Asterisk Call Manager/9.0.0\r\n", b"".join(e.wire() for e in transcripts.load_fragment("18_agentcomplete_without_channel"))])
        done = [parse_event(e) for e in got if isinstance(e, Event)]
        assert [type(d) for d in done] == [AgentComplete] * 3
        first, second, third = done
        assert isinstance(second, AgentComplete) and second.dest is None
        assert isinstance(first, AgentComplete) and isinstance(third, AgentComplete)
        assert first.ref is None and first.dest is None
        assert (first.queue, first.interface, first.member_name) == ("olive-test", "Local/102@olive-test-agents", "agent102")
        assert (first.talk_time_s, first.reason) == (37, "caller")
        assert third.ref is None
        assert third.dest is not None and third.dest.linkedid == "call_01M94GKM3WCR2NESQWHT464MCH"

    def test_a_recorded_complete_with_the_caller_keeps_it(self) -> None:
        (done,) = typed("01_answered_connected_to_agent", AgentComplete)
        assert done.ref is not None and done.dest is not None
        assert done.dest.linkedid == done.ref.linkedid


class TestShapeCache:
    """Typed views find fields through a cache keyed by the header names; it must
    still read the first header of each name, any case, whatever came before."""

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.data())
    def test_views_read_what_event_get_reads_for_any_order_duplicates_and_case(self, data: st.DataObject) -> None:
        source = data.draw(st.sampled_from(["VarSet", "AgentComplete", "DialBegin", "QueueMemberStatus"]))
        headers = list(first_raw(source).headers[1:])
        extra = data.draw(st.lists(st.sampled_from(headers), max_size=4))
        for name, value in extra:  # the same name again, in another case, with another value
            again = value + ("1" if value.isdigit() else "-again")
            headers.append((data.draw(st.sampled_from([name, name.lower(), name.upper()])), again))
        headers = data.draw(st.permutations(headers))
        event = Event((("Event", source), *headers))
        twin = Event((("Event", source), *((n, v + ("0" if v.isdigit() else "x")) for n, v in headers)))  # same shape
        for e in (event, twin):
            view = parse_event(e)
            if isinstance(view, VarSet):
                assert (view.ref.channel, view.ref.uniqueid, view.variable) == (e["Channel"], e["Uniqueid"], e["Variable"])
                assert view.ref.linkedid == (e.get("Linkedid") or e["Uniqueid"])
            elif isinstance(view, AgentComplete):
                assert (view.queue, view.interface, view.reason) == (e["Queue"], e["Interface"], e.get("Reason") or "")
                assert view.dest is not None and view.dest.channel == e["DestChannel"]
            elif isinstance(view, DialBegin):
                assert view.dest.uniqueid == e["DestUniqueid"]
                assert view.caller is None or view.caller.channel == e["Channel"]
            else:
                assert isinstance(view, QueueMemberState)
                assert (view.queue, view.member_name) == (e["Queue"], e.get("MemberName") or e.get("Name") or "")
