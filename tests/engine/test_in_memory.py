"""The engine and the simulated PBX in memory on a manual clock: exact figures, no sockets.

These were end-to-end tests over TCP on a 40x clock with tolerances
(``customer_wait_s < 2.0``, ``18 <= talk_s <= 42``, ``ring_s ≈ 15 ± 1``); in
memory every figure is the scenario's own, the same on every run.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import EVERY_OUTCOME, ONCE, agent_interface, make_campaign, number
from engine.memory import InMemory
from olive.store import Agent, Campaign, to_epoch, transaction


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def agent_state(sessions: sessionmaker[Session], interface: str) -> tuple[str, str | None]:
    with transaction(sessions) as s:
        agent = s.scalars(select(Agent).where(Agent.interface == interface)).one()
        return agent.state, agent.pause_reason


class TestOutcomes:
    async def test_every_outcome_with_exact_durations(self, mem: InMemory) -> None:
        expected = EVERY_OUTCOME
        cid = make_campaign(mem.sessions, name="every-outcome", contacts=list(expected), retry_rules=ONCE)
        await mem.start()
        report = await mem.finish(cid)
        calls = mem.calls(cid)
        assert {c.number: c.outcome for c in calls} == expected
        assert report.outcomes == {o: 1 for o in expected.values()}
        by_outcome = {c.outcome: c for c in calls}
        connected = by_outcome["CONNECTED"]
        assert connected.agent_interface in (agent_interface("101"), agent_interface("102"))
        # The agent answers 1 s after its phone rings (olive-test.conf); the customer rang
        # Wait(RAND(2,4)) and talks Wait(RAND(20,40)) less that second: seed 5 draws 4 and 27.5.
        assert connected.customer_wait_s == 1.0
        assert connected.ring_s == 4.0
        assert connected.talk_s == 26.5
        assert by_outcome["NO_ANSWER"].ring_s == 15.0  # the plan's dial timeout, to the millisecond
        assert by_outcome["BUSY"].hangup_cause == 17
        abandoned = by_outcome["ABANDONED"]
        assert abandoned.abandon_reason == "caller_hangup"
        # Answer, Wait(0.2), Hangup: 0.7 s after the answer (Timestamp has microseconds).
        assert abandoned.customer_wait_s == pytest.approx(0.7, abs=1e-6)
        assert_every_attempt_recorded_once(calls, mem.pbx)

    async def test_the_same_campaign_gives_the_same_figures_every_run(
        self, session_factory: sessionmaker[Session], db_clean: SAEngine
    ) -> None:
        figures = []
        for run in range(2):
            m = await InMemory.create(session_factory)
            try:
                cid = make_campaign(m.sessions, name=f"again-{run}", contacts=[number(1, i) for i in range(6)], retry_rules=ONCE)
                await m.start()
                await m.finish(cid)
                figures.append(
                    [(c.number, c.outcome, c.ring_s, c.customer_wait_s, c.talk_s, c.agent_interface) for c in m.calls(cid)]
                )
            finally:
                await m.stop()
        assert figures[0] == figures[1]

    async def test_connect_limit_drops_an_answer_no_agent_takes(self, mem: InMemory) -> None:
        cid = make_campaign(mem.sessions, name="connect-limit", contacts=[number(7, 1)], agents=["901"], retry_rules=ONCE)
        await mem.start()
        await mem.finish(cid)
        (call,) = mem.calls(cid)
        assert (call.outcome, call.abandon_reason) == ("ABANDONED", "timeout")
        assert call.customer_wait_s == 2.0  # Queue()'s timeout: the plan's 2 s connect limit
        assert call.agent_interface is None


class TestRetries:
    async def test_busy_is_retried_after_its_delay(self, mem: InMemory) -> None:
        rules = dict(ONCE, BUSY={"max_attempts": 2, "delay_s": 60})
        cid = make_campaign(mem.sessions, name="retry", contacts=[number(2, 7)], retry_rules=rules)
        await mem.start()
        await mem.finish(cid)
        first, second = mem.calls(cid)
        assert (first.outcome, second.outcome) == ("BUSY", "BUSY")
        assert (first.attempt, second.attempt) == (1, 2)
        assert first.ended_at is not None
        waited = to_epoch(second.originated_at) - to_epoch(first.ended_at)
        assert 60 <= waited <= 60 + mem.tick_s + 1.0  # due after 60 s; dialed at the next tick that may

    async def test_next_number_is_tried(self, mem: InMemory) -> None:
        rules = dict(ONCE, NO_ANSWER={"max_attempts": 1, "delay_s": 30})
        cid = make_campaign(mem.sessions, name="next-number", contacts=[[number(3, 8), number(1, 8)]], retry_rules=rules)
        await mem.start()
        await mem.finish(cid)
        assert [(c.number, c.outcome) for c in mem.calls(cid)] == [(number(3, 8), "NO_ANSWER"), (number(1, 8), "CONNECTED")]

    async def test_plan_seconds_reach_asterisk_as_milliseconds(self, mem: InMemory) -> None:
        cid = make_campaign(mem.sessions, name="ms", contacts=[number(3, 9)], retry_rules=ONCE, dial_timeout_s=17)
        await mem.start()
        await mem.finish(cid)
        (call,) = mem.calls(cid)
        assert (call.outcome, call.ring_s) == ("NO_ANSWER", 17.0)
        (sent,) = mem.pbx.actions_named("Originate")
        assert sent.get("Timeout") == "17000"


class TestMissedRings:
    async def test_an_agent_who_misses_two_rings_in_a_row_is_paused(self, mem: InMemory) -> None:
        rules = {"ABANDONED": {"max_attempts": 3, "delay_s": 30}, "NO_ANSWER": {"max_attempts": 1, "delay_s": 30}}
        contacts = [number(1, 300 + i) for i in range(10)]
        cid = make_campaign(mem.sessions, name="missed-rings", contacts=contacts, agents=["101", "901"], retry_rules=rules)
        absent = agent_interface("901")
        await mem.start()
        await mem.run_until(
            lambda: agent_state(mem.sessions, absent) == ("paused", "missed 2 calls in a row"), within_s=1200, what="901 paused"
        )
        await mem.run_for(mem.tick_s * 2)  # the QueuePause goes out
        member = {m.interface: m for m in mem.pbx.queue_members("olive-test")}[absent]
        assert (member.paused, member.reason) == (True, "missed 2 calls in a row")
        report = await mem.finish(cid, within_s=4 * 3600)
        calls = mem.calls(cid)
        # Paused after two rings of the whole connect limit. The customer's TIMEOUT(absolute)
        # cancels a ring still going at the limit: app_queue sends no AgentRingNoAnswer for it
        # (transcript 39), so olive counted the cancelled rings, and no call lists one.
        assert not [r for c in calls for r in c.agents_no_answer if r["interface"] == absent]
        timed_out = [c for c in calls if c.abandon_reason == "timeout"]
        assert len(timed_out) >= 2 and all(c.agent_interface is None for c in timed_out)
        assert all(c.agent_interface != absent for c in calls)
        assert report.outcomes["CONNECTED"] == 10, "the dropped customers were called again and reached 101"
        assert agent_state(mem.sessions, absent) == ("paused", "missed 2 calls in a row")
        assert_no_contact_dialed_twice_at_once(calls)


class TestThePump:
    async def test_start_campaign_returns_its_status_after_the_engines_tick(self, mem: InMemory) -> None:
        cid = make_campaign(mem.sessions, name="start", contacts=[number(1, 50)], status="stopped", retry_rules=ONCE)
        await mem.start()
        status = await mem.engine.control.start_campaign(cid)
        # The tick it asked for ran: the campaign has its runner, and says why it does not dial yet.
        assert status.running
        assert status.note is not None and "to have 2 agent(s) back in queue olive-test" in status.note
        await mem.run_until(lambda: bool(mem.calls(cid)), within_s=30, what="the call placed")
        (call,) = mem.calls(cid)
        await mem.clock.settle()
        assert [a.get("ChannelId") for a in mem.pbx.actions_named("Originate")] == [call.id]
        assert mem.engine.status(cid).counters.dials == 1  # type: ignore[union-attr]

    async def test_originates_go_out_even_if_finishing_campaigns_fails(
        self, mem: InMemory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Finishing idle campaigns used to run between the commit of the dials and their
        Originates: its failure left committed calls without an Originate until a restart."""
        cid = make_campaign(mem.sessions, name="dials", contacts=[number(1, 60), number(1, 61)], status="paused", retry_rules=ONCE)
        await mem.start()
        link = mem.engine.links["default"]
        await mem.run_until(lambda: link.membership_confirmed, within_s=30, what="agents in the queue")
        # In one tick: a campaign with nothing left to finish, and one with calls to place.
        done = make_campaign(mem.sessions, name="nothing-left", contacts=[], retry_rules=ONCE)
        with transaction(mem.sessions) as s:
            s.get(Campaign, cid).status = "running"  # type: ignore[union-attr]
        mem.engine.invalidate()

        def refuse(idle: list[str], now: float) -> dict[str, str]:
            raise RuntimeError("the database refused")

        monkeypatch.setattr(mem.engine, "_finish_idle", refuse)
        await mem.clock.advance(mem.tick_s)
        with pytest.raises(RuntimeError, match="refused"):
            await mem.engine.tick()
        await mem.clock.settle()
        ids = {c.id for c in mem.calls(cid)}
        assert len(ids) == 2
        assert {a.get("ChannelId") for a in mem.pbx.actions_named("Originate")} == ids
        assert mem.report(done).status == "running"
        monkeypatch.undo()
        await mem.run_for(mem.tick_s * 4)
        assert mem.report(done).status == "finished"

    async def test_a_failed_background_task_is_logged(self, mem: InMemory, caplog: pytest.LogCaptureFixture) -> None:
        async def broken() -> None:
            raise ValueError("lost in the background")

        with caplog.at_level(logging.ERROR, logger="olive.engine"):
            mem.engine.spawn(broken())
            await mem.clock.settle()
        assert any("failed" in r.getMessage() and r.exc_info and "lost in the background" in str(r.exc_info[1]) for r in caplog.records)

    async def test_stop_raises_when_the_last_changes_cannot_be_stored(
        self, mem: InMemory, db_clean: SAEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        from sqlalchemy import event

        cid = make_campaign(mem.sessions, name="last-write", contacts=[number(3, 70)], retry_rules=ONCE)
        await mem.start()
        await mem.run_until(lambda: bool(mem.calls(cid)), within_s=60, what="a call placed")
        await mem.clock.advance(5)  # ringing: changes wait in the tracker

        def boom(conn: object) -> None:
            raise RuntimeError("database went away")

        event.listen(db_clean, "commit", boom)
        try:
            with caplog.at_level(logging.ERROR, logger="olive.engine"), pytest.raises(RuntimeError, match="went away"):
                await mem.engine.stop()
        finally:
            event.remove(db_clean, "commit", boom)
        assert any("could not be stored" in r.getMessage() for r in caplog.records)

