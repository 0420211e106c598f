"""Owned callbacks reach their owner end to end over TCP: olive's engine, the shipped dialplan and
queues.conf's [olive-callbacks], an Asterisk (the simulator, or a real one via OLIVE_TEST_AMI).

The route (docs/agents.md): the callback's call waits in olive-callbacks with QUEUE_MIN_PENALTY =
QUEUE_MAX_PENALTY = its owner's penalty, so app_queue rings nobody else, and the owner is out of
the campaign's queue from the dial until they are done. tests/engine/test_owned_callbacks.py
checks the same in memory; this checks that a real app_queue honours the penalties."""

from __future__ import annotations

from itertools import pairwise

from sqlalchemy import select

from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import ONCE, Olive, agent_interface, make_campaign, number
from olive.compliance import schedule_callback
from olive.store import Agent, ContactNumber, transaction


async def test_callbacks_owned_by_one_agent_reach_only_that_agent(olive: Olive) -> None:
    owned = [number(1, i) for i in range(601, 604)]
    others = [number(1, i) for i in range(611, 614)]
    cid = make_campaign(olive.sessions, name="owned-e2e", contacts=[*owned, *others], agents=["101", "102"],
                        retry_rules=ONCE, dial_mode="progressive")
    with transaction(olive.sessions) as s:
        owner_id = s.scalars(select(Agent.id).where(Agent.name == "agent102")).one()
        for contact_id in s.scalars(select(ContactNumber.contact_id).where(ContactNumber.number.in_(owned))):
            schedule_callback(s, contact_id, cid, olive.target.clock.now(), agent_id=owner_id)
    await olive.start()
    report = await olive.finish(cid, within_s=1800)
    calls = olive.calls(cid)
    assert_every_attempt_recorded_once(calls, olive.target.pbx)
    assert_no_contact_dialed_twice_at_once(calls)
    by_number = {c.number: c for c in calls}
    assert sorted(by_number) == sorted([*owned, *others]), "one attempt each"
    for n in owned:
        call = by_number[n]
        assert (call.outcome, call.agent_interface, call.for_agent_id) == ("CONNECTED", agent_interface("102"), owner_id), call.detail
        assert call.customer_wait_s is not None and call.customer_wait_s < 2.0
    # The owner had one callback at a time: each owned call was connected after the previous ended.
    spans = sorted((by_number[n].agent_connected_at, by_number[n].ended_at) for n in owned)
    assert all(a[1] is not None and b[0] is not None and b[0] >= a[1] for a, b in pairwise(spans)), spans
    assert {by_number[n].for_agent_id for n in others} == {None}
    assert report.outcomes == {"CONNECTED": 6}
