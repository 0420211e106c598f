"""An agentless campaign end to end over TCP: olive's engine, the shipped [olive-broadcast]
dialplan, an Asterisk (the simulator, or a real one via OLIVE_TEST_AMI: the customers are
olive-test.conf's Local channels and the recordings Asterisk's core sounds).

The same campaign as tests/engine/test_agentless_campaign.py, with the real compliance guard (the
do-not-call list checked right before each dial); profile none and a 24-hour schedule so
that it runs whatever the hour."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import Olive, agent_interface, make_campaign, number
from olive.compliance import ComplianceGuard
from olive.engine._optout import OPT_OUT_SOURCE
from olive.store import Campaign, Contact, ContactNumber, DncNumber, transaction

AGENTLESS: dict[str, Any] = {
    "dial_mode": "agentless", "message": "hello-world", "ivr_prompt": "beep", "ivr_agent_key": "1",
    "ivr_optout_key": "9", "ivr_timeout_s": 5, "max_concurrent": 1, "max_calls_per_second": 2,
    "retry_rules": {"MESSAGE": {"max_attempts": 3, "delay_s": 60}, "ABANDONED": {"max_attempts": 1, "delay_s": 60}},
}


async def test_plays_its_message_records_keys_and_opts_out_9_at_once(olive: Olive) -> None:
    olive.guard = ComplianceGuard()
    press_1, press_9, nothing = number(0, 101), number(0, 901), number(0, 1)
    cid = make_campaign(olive.sessions, name="agentless-e2e", contacts=[press_9, press_1, nothing, press_9],
                        agents=["801"], profile="none", **AGENTLESS)
    with transaction(olive.sessions) as s:
        campaign = s.get(Campaign, cid)
        assert campaign is not None
        campaign.schedule = {"start": "00:00", "end": "24:00"}
    await olive.start()
    report = await olive.finish(cid, within_s=1800)
    calls = olive.calls(cid)
    assert_every_attempt_recorded_once(calls, olive.target.pbx)
    assert_no_contact_dialed_twice_at_once(calls)
    by_number: dict[str, list[Any]] = {}
    for call in calls:
        assert call.plan_snapshot["context"] == "olive-broadcast"
        by_number.setdefault(call.number, []).append(call)

    [opted] = by_number[press_9]  # the second contact with that number was refused at its dial
    assert (opted.outcome, opted.ivr_key, opted.ivr_status) == ("MESSAGE", "9", "OK")
    assert opted.queued_at is None and opted.agent_interface is None
    with transaction(olive.sessions) as s:
        [entry] = s.scalars(select(DncNumber).where(DncNumber.number == press_9))
        assert (entry.campaign_id, entry.source) == (cid, OPT_OUT_SOURCE)
        statuses = sorted(s.scalars(
            select(Contact.status).join(ContactNumber, ContactNumber.contact_id == Contact.id)
            .where(ContactNumber.number == press_9)))
    assert statuses == ["dnc", "dnc"]

    [through] = by_number[press_1]
    assert (through.outcome, through.ivr_key, through.agent_interface) == ("CONNECTED", "1", agent_interface("801"))

    tries = by_number[nothing]
    assert [(c.outcome, c.ivr_key, c.ivr_status) for c in tries] == [("MESSAGE", None, "TIMEOUT")] * 3
    assert report.outcomes == {"MESSAGE": 4, "CONNECTED": 1}
