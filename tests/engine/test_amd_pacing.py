"""With AMD, the pacer learns a call at AMD's verdict: a MACHINE is not a live answer, a call
still in AMD is in flight (not a customer waiting), and the people among AMD's machines (the
plan's estimate) count as abandoned in the windows the pacer and the brake guard."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.stored import placed_call
from olive import pacing
from olive.calls import CallChange, CallRecord, CallState, Outcome
from olive.engine._runner import CampaignRunner
from olive.engine._stats import machines_since
from olive.store import Call, from_epoch, transaction

T0 = 1_000_000_000.0

AMD_PLAN = {"dial_mode": "predictive", "amd": "hangup", "amd_false_positive_share": 0.05}


def ringing(call_id: str = "c1") -> CallRecord:
    return CallRecord(call_id, CallState.RINGING, "PJSIP/1@t", "a1", T0, ringing_at=T0 + 0.2)


def step(runner: CampaignRunner, before: CallRecord, **fields: object) -> CallRecord:
    after = dataclasses.replace(before, **fields)  # type: ignore[arg-type]
    runner.call_changed(CallChange(after, before.state))
    return after


def resolved(runner: CampaignRunner) -> list[pacing.DialResolved]:
    return [o for o in runner._recent if isinstance(o, pacing.DialResolved)]


def test_without_amd_an_answer_is_a_live_answer_at_the_pick_up() -> None:
    runner = CampaignRunner("k", {"dial_mode": "predictive"}, "us-tsr")
    step(runner, ringing(), state=CallState.ANSWERED, answered_at=T0 + 6)
    assert resolved(runner) == [pacing.DialResolved(T0 + 6, T0, live=True)]


def test_a_call_in_amd_is_in_flight_not_waiting_and_resolves_live_at_a_human_verdict() -> None:
    runner = CampaignRunner("k", AMD_PLAN, "uk-ofcom")
    answered = step(runner, ringing(), state=CallState.ANSWERED, answered_at=T0 + 6)
    assert resolved(runner) == []  # not yet: a person, or a machine?
    snap = runner.snapshot(T0 + 7, [], [answered])
    assert (snap.waiting, snap.dialing) == (0, (T0,))  # in flight since the dial, like a call ringing
    human = step(runner, answered, amd_status="HUMAN", amd_at=T0 + 8.5)
    assert resolved(runner) == [pacing.DialResolved(T0 + 8.5, T0, live=True)]
    snap = runner.snapshot(T0 + 8.6, [], [human])
    assert (snap.waiting, snap.dialing) == (1, ())  # now a person waiting for an agent
    step(runner, human, state=CallState.QUEUED, queued_at=T0 + 8.6)
    assert len(resolved(runner)) == 1  # resolved once


def test_a_machine_is_a_non_live_result_at_the_verdict_and_its_estimated_person_an_abandon() -> None:
    runner = CampaignRunner("k", AMD_PLAN, "uk-ofcom")
    answered = step(runner, ringing(), state=CallState.ANSWERED, answered_at=T0 + 6)
    machine = step(runner, answered, amd_status="MACHINE", amd_cause="LONGGREETING-1500-1500", amd_at=T0 + 9)
    assert resolved(runner) == [pacing.DialResolved(T0 + 9, T0, live=False)]
    assert runner.snapshot(T0 + 9.5, [], [machine]).calls_in_flight == 0  # being hung up: needs no agent
    step(runner, machine, state=CallState.ENDED, ended_at=T0 + 10, outcome=Outcome.MACHINE)
    assert len(resolved(runner)) == 1
    assert isinstance(runner.pacer, pacing.PredictivePacer)
    to_date = runner.pacer.ledger.campaign()
    assert (to_date.live_answers, to_date.abandons) == pytest.approx((0.05, 0.05))
    assert runner.brake.ledger.campaign().abandons == pytest.approx(0.05)


@pytest.mark.parametrize(("notsure", "live"), [("agent", True), ("machine", False)])
def test_notsure_follows_the_plan(notsure: str, live: bool) -> None:
    runner = CampaignRunner("k", {**AMD_PLAN, "amd_notsure": notsure}, "uk-ofcom")
    answered = step(runner, ringing(), state=CallState.ANSWERED, answered_at=T0 + 6)
    step(runner, answered, amd_status="NOTSURE", amd_at=T0 + 11)
    assert resolved(runner) == [pacing.DialResolved(T0 + 11, T0, live=live)]


def test_a_hang_up_during_amd_resolves_live_at_the_end() -> None:
    # app_amd's HANGUP: it may have been a person, and the abandon rate counts it as one.
    runner = CampaignRunner("k", AMD_PLAN, "uk-ofcom")
    answered = step(runner, ringing(), state=CallState.ANSWERED, answered_at=T0 + 6)
    step(runner, answered, state=CallState.ENDED, ended_at=T0 + 7, outcome=Outcome.ABANDONED)
    assert resolved(runner) == [pacing.DialResolved(T0 + 7, T0, live=True)]


def test_the_power_brake_counts_the_people_among_amds_machines() -> None:
    idle = (pacing.AgentSnapshot(pacing.AgentActivity.IDLE, T0),)
    snap = pacing.PacingSnapshot(now=T0 + 100, agents=idle, dialing=())
    plan = {**AMD_PLAN, "dial_mode": "power", "lines_per_agent": 3, "amd_false_positive_share": 0.03}
    runner = CampaignRunner("k", plan, "uk-ofcom")
    runner.restore([(T0 + i * 0.1, i == 0) for i in range(100)])  # 1 abandon in 100: room for 2 more
    assert runner.decide(snap).dials == 3
    machine = ringing()
    for i in range(100):  # 100 machines: 3 estimated people hung up on, 4 of 103 > 3 %
        rec = dataclasses.replace(machine, call_id=f"m{i}")
        answered = step(runner, rec, state=CallState.ANSWERED, answered_at=T0 + 6)
        step(runner, answered, state=CallState.ENDED, ended_at=T0 + 20, amd_status="MACHINE", outcome=Outcome.MACHINE)
    assert runner.decide(snap).dials == 1  # the progressive floor
    assert runner.brake.budget(T0 + 100) == pytest.approx(0.03 * 103 - 4)


def test_a_rebuilt_pacer_keeps_the_amd_estimate() -> None:
    runner = CampaignRunner("k", AMD_PLAN, "uk-ofcom")
    answered = step(runner, ringing(), state=CallState.ANSWERED, answered_at=T0 + 6)
    step(runner, answered, state=CallState.ENDED, ended_at=T0 + 20, amd_status="MACHINE", outcome=Outcome.MACHINE)
    runner.update_plan({**AMD_PLAN, "max_concurrent": 80}, "uk-ofcom")
    assert isinstance(runner.pacer, pacing.PredictivePacer)
    assert runner.pacer.ledger.campaign().abandons == pytest.approx(0.05)


def test_a_restarted_engine_replays_amds_machines_into_the_abandon_windows(
    session_factory: sessionmaker[Session], db_clean: SAEngine
) -> None:
    placed_call(session_factory, now=T0)
    with transaction(session_factory) as s:
        call = s.scalars(select(Call)).one()
        call.outcome, call.ended_at = "MACHINE", from_epoch(T0 + 20)
        call.plan_snapshot = {**call.plan_snapshot, "amd": "hangup", "amd_false_positive_share": 0.1}
        campaign_id = call.campaign_id
    with session_factory() as s:
        machines = machines_since(s, campaign_id, T0 - 3600)
    assert machines == [(pytest.approx(T0 + 20), 0.1)]
    runner = CampaignRunner(campaign_id, AMD_PLAN, "uk-ofcom")
    runner.restore_machines(machines)
    assert isinstance(runner.pacer, pacing.PredictivePacer)
    assert runner.pacer.ledger.window(86400.0, T0 + 30).abandons == pytest.approx(0.1)
