"""An agentless campaign in memory: olive's engine, the shipped [olive-broadcast], the simulated PBX.

olive-test.conf's customers 01xx press 1, 09xx press 9 and 00xx press nothing, 3 s
after answering (docs/asterisk/olive-test.conf); the plan's message and prompt are
Asterisk core sounds (hello-world, beep), so the same campaign runs on a real
Asterisk (tests/e2e/test_agentless.py).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import agent_interface, make_campaign, number
from engine.memory import SERVER, InMemory
from olive.compliance import ComplianceGuard
from olive.engine._optout import OPT_OUT_SOURCE
from olive.store import Contact, DncNumber, transaction

#: The agentless plan of these tests: message, prompt, 1 to an agent, 9 to opt out, and
#: a no-key message tried again (twice more, 60 s apart) so that a retry would show.
AGENTLESS: dict[str, Any] = {
    "dial_mode": "agentless", "message": "hello-world", "ivr_prompt": "beep", "ivr_agent_key": "1",
    "ivr_optout_key": "9", "ivr_timeout_s": 5, "max_concurrent": 4, "max_calls_per_second": 2,
    "retry_rules": {"MESSAGE": {"max_attempts": 3, "delay_s": 60}, "ABANDONED": {"max_attempts": 1, "delay_s": 60}},
}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
async def mem(session_factory: sessionmaker[Session], db_clean: SAEngine) -> AsyncIterator[InMemory]:
    # The real compliance guard: hours, and the do-not-call list checked right before each dial.
    m = await InMemory.create(session_factory, guard=ComplianceGuard())
    yield m
    await m.stop()


def contacts_by_number(sessions: sessionmaker[Session], campaign_id: str) -> dict[str, list[str]]:
    from olive.store import ContactNumber

    with transaction(sessions) as s:
        rows = s.execute(select(ContactNumber.number, Contact.status).join(Contact, Contact.id == ContactNumber.contact_id))
        out: dict[str, list[str]] = {}
        for num, status in rows:
            out.setdefault(num, []).append(status)
        return out


class TestAgentless:
    async def test_plays_its_message_records_keys_and_opts_out_9_at_once(self, mem: InMemory) -> None:
        press_1, press_9, nothing = number(0, 101), number(0, 901), number(0, 1)
        # The 9-presser's number twice (two contacts, one call at a time): the second is never dialed.
        cid = make_campaign(mem.sessions, name="agentless", contacts=[press_9, press_1, nothing, press_9],
                            agents=["801"], **dict(AGENTLESS, max_concurrent=1))
        await mem.start()
        report = await mem.finish(cid, within_s=1800)
        calls = mem.calls(cid)
        assert_every_attempt_recorded_once(calls, mem.pbx)
        assert_no_contact_dialed_twice_at_once(calls)
        by_number: dict[str, list[Any]] = {}
        for call in calls:
            assert call.plan_snapshot["context"] == "olive-broadcast"
            by_number.setdefault(call.number, []).append(call)

        # 9: the message played, the key read, the number on the campaign's list; one call only.
        [opted] = by_number[press_9]
        assert (opted.outcome, opted.ivr_key, opted.ivr_status) == ("MESSAGE", "9", "OK")
        assert opted.agent_interface is None and opted.queued_at is None
        with transaction(mem.sessions) as s:
            [entry] = s.scalars(select(DncNumber).where(DncNumber.number == press_9))
            assert (entry.campaign_id, entry.source) == (cid, OPT_OUT_SOURCE)
            assert entry.note == f"pressed 9 on call {opted.id}"
            # On the list in the very transaction that ended the call.
            assert entry.created_at is not None
        statuses = contacts_by_number(mem.sessions, cid)
        assert statuses[press_9] == ["dnc", "dnc"]  # the second contact: refused at its dial

        # 1: put through to the agent, within the connect limit from the key.
        [through] = by_number[press_1]
        assert (through.outcome, through.ivr_key) == ("CONNECTED", "1")
        assert through.agent_interface == agent_interface("801")
        assert through.customer_wait_s is not None and through.customer_wait_s < 3.0 + 1.0 + 2.0

        # Nothing: the message, the plan's MESSAGE rule (three tries, 60 s apart).
        tries = by_number[nothing]
        assert [(c.outcome, c.ivr_key, c.ivr_status) for c in tries] == [("MESSAGE", None, "TIMEOUT")] * 3
        for before, after in itertools.pairwise(tries):
            assert before.ended_at is not None and (after.originated_at - before.ended_at).total_seconds() >= 60
        assert report.outcomes == {"MESSAGE": 4, "CONNECTED": 1}
        assert statuses[nothing] == ["exhausted"] and statuses[press_1] == ["done"]

    async def test_dials_without_any_agent_at_the_plans_caps(self, mem: InMemory) -> None:
        numbers = [number(0, i) for i in range(12)]  # press nothing
        plan = dict(AGENTLESS, ivr_agent_key=None, max_concurrent=5, max_calls_per_second=1,
                    retry_rules={"MESSAGE": {"max_attempts": 0, "delay_s": 0}})
        cid = make_campaign(mem.sessions, name="no-agents", contacts=numbers, agents=[], **plan)
        await mem.start()
        report = await mem.finish(cid, within_s=1800)
        calls = mem.calls(cid)
        assert report.outcomes == {"MESSAGE": 12}
        starts = sorted(c.originated_at.timestamp() for c in calls)
        # At most one call a second, and never more than 5 at once.
        assert all(b - a >= 1.0 - 1e-6 for a, b in itertools.pairwise(starts))
        spans = [(c.originated_at.timestamp(), c.ended_at.timestamp()) for c in calls if c.ended_at is not None]
        assert max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans) <= 5
        # Read() still ran for the opt-out key (and timed out): the opt-out is open without agents too.
        assert {c.ivr_status for c in calls} == {"TIMEOUT"}

    async def test_with_no_agent_ready_the_agent_key_does_not_queue(self, mem: InMemory) -> None:
        # It would only wait for nobody and be dropped: an abandoned call. The key is recorded.
        cid = make_campaign(mem.sessions, name="nobody", contacts=[number(0, 102)], agents=[],
                            **dict(AGENTLESS, retry_rules={}))
        await mem.start()
        report = await mem.finish(cid, within_s=600)
        [call] = mem.calls(cid)
        assert (call.outcome, call.ivr_key, call.queued_at) == ("MESSAGE", "1", None)
        assert report.outcomes == {"MESSAGE": 1}

    @pytest.mark.parametrize("keys", [True, False], ids=["read", "playback"])
    async def test_a_restart_during_the_message_keeps_it_a_message(self, mem: InMemory, keys: bool) -> None:
        from olive import ami
        from olive.ami import ServerConfig
        from olive.engine import Engine

        plan = dict(AGENTLESS, retry_rules={}) if keys else dict(AGENTLESS, retry_rules={}, ivr_optout_key=None,
                                                                     ivr_agent_key=None, message="long-message")
        cid = make_campaign(mem.sessions, name="restart", contacts=[number(0, 3)], agents=[], **plan)
        await mem.start()
        await mem.run_until(lambda: any(c.answered_at is not None for c in mem.calls(cid)), within_s=60,
                            what="the call answered")
        await mem.run_for(1.0)  # the message is playing; olive has seen [olive-broadcast] begin
        await mem.engine.stop()

        def client(name: str, config: ServerConfig) -> ami.AMIClient:
            return ami.AMIClient(config.host, config.port, config.username, config.secret, events=config.events,
                                 name=name, connector=mem.pbx.connect_in_memory)

        mem.engine = Engine(mem.sessions, {"default": SERVER}, clock=mem.clock,
                            guard=ComplianceGuard(), tick_s=mem.tick_s, client_factory=client)
        await mem.start()
        report = await mem.finish(cid, within_s=600)
        [call] = mem.calls(cid)
        assert (call.outcome, call.ivr_status) == ("MESSAGE", "TIMEOUT" if keys else None)
        assert report.outcomes == {"MESSAGE": 1}


class TestATrunkOfPeople:
    async def test_two_hundred_numbers_keys_recorded_and_every_9_opted_out(self, mem: InMemory) -> None:
        """e2e.toml's ivr trunk: 70% answer; of them 10% press 1, 5% press 9 (the simulator's [ivr])."""
        from collections import Counter

        numbers = [number(1, i) for i in range(200)]
        plan = dict(AGENTLESS, channel_template="PJSIP/{number}@ivr", max_concurrent=10, max_calls_per_second=2,
                    retry_rules={"MESSAGE": {"max_attempts": 2, "delay_s": 120}, "NO_ANSWER": {"max_attempts": 1, "delay_s": 0},
                                 "ABANDONED": {"max_attempts": 1, "delay_s": 0}})
        cid = make_campaign(mem.sessions, name="trunk", contacts=numbers, agents=["801", "802"], **plan)
        await mem.start()
        report = await mem.finish(cid, within_s=3600)
        calls = mem.calls(cid)
        assert_every_attempt_recorded_once(calls, mem.pbx)
        assert_no_contact_dialed_twice_at_once(calls)
        outcomes = Counter(c.outcome for c in calls)
        keys = Counter(c.ivr_key for c in calls if c.answered_at is not None)
        assert set(outcomes) <= {"MESSAGE", "CONNECTED", "ABANDONED", "NO_ANSWER"}
        with transaction(mem.sessions) as s:
            listed = set(s.scalars(select(DncNumber.number).where(DncNumber.campaign_id == cid)))
        pressed_9 = {c.number for c in calls if c.ivr_key == "9"}
        per_number = Counter(c.number for c in calls)
        print(f"\n{len(calls)} calls: {dict(outcomes)}; keys of answered calls {dict(keys)}; "
              f"{len(listed)} numbers opted out")
        assert pressed_9 and listed == pressed_9
        for n in pressed_9:  # the opt-out was its number's last call
            last = max((c for c in calls if c.number == n), key=lambda c: c.originated_at)
            assert last.ivr_key == "9"
        assert all(per_number[n] <= 2 for n in per_number)  # MESSAGE twice at most, the rest once
        # Only the agent key reaches the queue; every call there pressed it.
        for c in calls:
            if c.outcome in ("CONNECTED", "ABANDONED"):
                assert c.ivr_key == "1" and c.queued_at is not None
            if c.outcome == "MESSAGE":  # "1" too: no agent was ready when it was pressed
                assert c.ivr_key in (None, "9", "1") and c.queued_at is None
        answered = sum(keys.values())
        assert 0.02 < keys["9"] / answered < 0.1 and 0.05 < keys["1"] / answered < 0.17
        spans = [(c.originated_at.timestamp(), c.ended_at.timestamp()) for c in calls if c.ended_at is not None]
        assert max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans) <= 10
        # The agent key joins the queue only while an agent is ready: none waited in vain here
        # (two pressing 1 at once for one ready agent still could).
        assert outcomes["ABANDONED"] == 0 and outcomes["CONNECTED"] > 0
        assert report.outcomes == dict(outcomes)
