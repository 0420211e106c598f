"""Preview mode: the engine and the simulated PBX in memory, on a manual clock.

olive places no call by itself; each ready agent is offered a contact, dials it
(the answered call comes to them alone) or skips it; an unattended preview times
out per the plan; the rules are checked again at the click.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from e2e.harness import agent_interface, make_campaign, number
from engine.memory import InMemory
from olive.compliance import ComplianceGuard
from olive.engine._preview import SKIP_DELAY_S
from olive.errors import Conflict
from olive.store import Agent, Campaign, Contact, DncNumber, Preview, to_epoch, transaction

ONCE = {k: {"max_attempts": 1, "delay_s": 60} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED", "CANCELLED")}


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def _agent_ids(mem: InMemory) -> dict[str, str]:
    with transaction(mem.sessions) as s:
        return {a.name: a.id for a in s.scalars(select(Agent))}


def _previews(mem: InMemory, status: str | None = None) -> list[Preview]:
    with transaction(mem.sessions) as s:
        q = select(Preview).order_by(Preview.offered_at, Preview.id)
        if status is not None:
            q = q.where(Preview.status == status)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def _offered_to(mem: InMemory, agent_id: str) -> Preview | None:
    return next((p for p in _previews(mem, "offered") if p.agent_id == agent_id), None)


class TestPreview:
    async def test_offer_dial_and_skip(self, mem: InMemory) -> None:
        cid = make_campaign(mem.sessions, name="preview", contacts=[number(1, i) for i in range(1, 5)], retry_rules=ONCE, dial_mode="preview")
        ids = _agent_ids(mem)
        await mem.start()
        await mem.run_until(lambda: len(_previews(mem, "offered")) == 2, within_s=10, what="a preview for each agent")
        await mem.run_for(10)
        assert mem.calls(cid) == [], "olive places no call by itself"
        offered = {p.agent_id: p.contact_id for p in _previews(mem, "offered")}
        assert set(offered) == {ids["agent101"], ids["agent102"]} and len(set(offered.values())) == 2

        # agent101 dials: the customer is called and put through to agent101 alone.
        call_id = await mem.engine.previews.dial(ids["agent101"])
        await mem.run_until(lambda: mem.calls(cid) and mem.calls(cid)[0].agent_connected_at is not None, within_s=30, what="connected")
        call = mem.calls(cid)[0]
        assert (call.id, call.contact_id, call.agent_interface, call.for_agent_id) == (
            call_id, offered[ids["agent101"]], agent_interface("101"), ids["agent101"])
        with pytest.raises(Conflict):  # nothing on the screen any more
            await mem.engine.previews.dial(ids["agent101"])

        # agent102 skips: the contact is put off an hour, and the next one is offered.
        skipped = offered[ids["agent102"]]
        await mem.engine.previews.skip(ids["agent102"], "asked to be emailed")
        done = next(p for p in _previews(mem) if p.contact_id == skipped)
        assert (done.status, done.reason) == ("skipped", "asked to be emailed")
        with transaction(mem.sessions) as s:
            contact = s.get(Contact, skipped)
            assert contact is not None and contact.next_attempt_at is not None
            assert to_epoch(contact.next_attempt_at) == pytest.approx(mem.clock.now() + SKIP_DELAY_S, abs=1)
        await mem.run_until(lambda: _offered_to(mem, ids["agent102"]) is not None, within_s=5, what="the next preview")
        nxt = _offered_to(mem, ids["agent102"])
        assert nxt is not None and nxt.contact_id not in (skipped, offered[ids["agent101"]])
        with pytest.raises(Conflict):
            await mem.engine.previews.skip(ids["agent101"], "nothing there")  # on a call, nothing offered

    async def test_unattended_preview_times_out_and_pauses_the_agent(self, mem: InMemory) -> None:
        make_campaign(
            mem.sessions, name="timeout", contacts=[number(1, 11), number(1, 12)], agents=("101",), retry_rules=ONCE,
            dial_mode="preview", preview_timeout_s=30,
        )
        ids = _agent_ids(mem)
        await mem.start()
        await mem.run_until(lambda: _offered_to(mem, ids["agent101"]) is not None, within_s=10, what="offered")
        offered_at = mem.clock.now()
        await mem.run_until(lambda: bool(_previews(mem, "expired")), within_s=40, what="expired")
        assert mem.clock.now() - offered_at >= 29
        await mem.run_until(lambda: _state(mem, ids["agent101"]) == ("paused", "preview timed out"), within_s=5, what="paused")
        await mem.run_for(5)
        assert _offered_to(mem, ids["agent101"]) is None, "a paused agent is offered nothing"

    async def test_timeout_action_dial(self, mem: InMemory) -> None:
        cid = make_campaign(
            mem.sessions, name="autodial", contacts=[number(1, 21)], agents=("101",), retry_rules=ONCE,
            dial_mode="preview", preview_timeout_s=20, preview_timeout_action="dial",
        )
        ids = _agent_ids(mem)
        await mem.start()
        await mem.run_until(lambda: bool(mem.calls(cid)), within_s=30, what="dialed at the timeout")
        assert [p.status for p in _previews(mem)] == ["dialed"]
        await mem.run_until(lambda: mem.calls(cid)[0].agent_interface is not None, within_s=30, what="connected")
        assert mem.calls(cid)[0].for_agent_id == ids["agent101"]


    async def test_a_stopped_campaign_withdraws_its_previews(self, mem: InMemory) -> None:
        cid = make_campaign(mem.sessions, name="stopping", contacts=[number(1, 41)], agents=("101",), retry_rules=ONCE, dial_mode="preview")
        ids = _agent_ids(mem)
        await mem.start()
        await mem.run_until(lambda: _offered_to(mem, ids["agent101"]) is not None, within_s=10, what="offered")
        with transaction(mem.sessions) as s:
            s.get(Campaign, cid).status = "stopped"  # type: ignore[union-attr]
        mem.engine.invalidate()
        await mem.run_until(lambda: [p.status for p in _previews(mem)] == ["withdrawn"], within_s=5, what="withdrawn")
        with pytest.raises(Conflict):
            await mem.engine.previews.dial(ids["agent101"])


class TestRulesAtTheClick:
    async def test_dnc_added_after_the_offer_stops_the_dial(self, session_factory: sessionmaker[Session], db_clean: SAEngine) -> None:
        mem = await InMemory.create(session_factory, guard=ComplianceGuard())
        try:
            cid = make_campaign(
                mem.sessions, name="dnc", contacts=[number(1, 31)], agents=("101",), retry_rules=ONCE, dial_mode="preview",
                profile="none",
            )
            ids = _agent_ids(mem)
            await mem.start()
            await mem.run_until(lambda: _offered_to(mem, ids["agent101"]) is not None, within_s=10, what="offered")
            with transaction(mem.sessions) as s:
                s.add(DncNumber(number=number(1, 31)))
            with pytest.raises(Conflict, match="dnc"):
                await mem.engine.previews.dial(ids["agent101"])
            assert [p.status for p in _previews(mem)] == ["refused"]
            assert mem.calls(cid) == []
        finally:
            await mem.stop()


def _state(mem: InMemory, agent_id: str) -> tuple[str, str | None]:
    with transaction(mem.sessions) as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return agent.state, agent.pause_reason
