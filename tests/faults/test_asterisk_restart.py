"""Asterisk restarts mid-campaign (a crash, an upgrade, ``core restart now``).

It comes back with no channels and none of the queue members olive added.
olive must see the restart, put its agents back in the queue within 5 s of
logging in again, hold dialing until they are there, and leave no agent
stuck on a call that died with Asterisk.
"""

from __future__ import annotations

from e2e.harness import QUEUE, Olive, agent_interface, make_campaign, number
from faults.checks import abandon_rate, assert_fault_invariants, first_action_after
from olive.calls import AgentActivity, CallState
from olive.store import Agent, Contact, transaction

AGENTS = ["801", "802", "803", "804"]
RULES = {k: {"max_attempts": 3, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


def members(olive: Olive) -> set[str]:
    return {m.interface for m in olive.target.pbx.queue_members(QUEUE)}


def busy_again(link: object, lost: set[str]) -> set[str]:
    """Agents already on a new call since olive is back."""
    agents = link.members.agents()  # type: ignore[attr-defined]
    return {s.interface for s in agents if s.call_id is not None and s.call_id not in lost}


def agent_states(olive: Olive) -> dict[str, str]:
    with transaction(olive.sessions) as s:
        return {a.interface: a.state for a in s.query(Agent)}


class TestAsteriskRestart:
    async def test_agents_back_in_the_queue_and_dialing_resumes(self, olive: Olive) -> None:
        contacts = [number(1, 100 + i) for i in range(60)]
        cid = make_campaign(olive.sessions, name="restart", contacts=contacts, agents=AGENTS, retry_rules=RULES)
        engine = await olive.start()
        link = engine.links["default"]
        pbx = olive.target.pbx
        everyone = {agent_interface(a) for a in AGENTS}
        await olive.until(
            lambda: sum(1 for r in link.tracker.active() if r.state is CallState.CONNECTED) >= 2,
            within_s=120, what="two agents talking",
        )
        talking = {s.interface for s in link.members.agents() if s.activity is AgentActivity.TALKING}
        lost = {r.call_id for r in link.tracker.active()}
        await pbx.restart(down_s=3.0, clean=False)  # a crash: the calls vanish unseen
        restarted_at = olive.target.clock.now()
        await olive.until(lambda: link.client.connections >= 2, within_s=60, what="olive logged in again")
        await olive.until(lambda: link.client.connections >= 2 and link.ready, within_s=60, what="olive logged in again")
        # The agents whose calls died with Asterisk are not left on them.
        await olive.until(
            lambda: all(agent_states(olive)[i] not in ("on_call", "ringing") or i in busy_again(link, lost) for i in talking),
            within_s=10, what="agents of the lost calls free again",
        )
        await olive.until(lambda: members(olive) == everyone, within_s=30, what="agents back in the queue")
        # When each came back, by the PBX's own clock: the QueueAdd it handled after the login.
        (login,) = [r.time for r in pbx.actions if r.action.name == "Login" and r.time > restarted_at]
        added = {r.action.get("Interface"): r.time for r in pbx.actions if r.action.name == "QueueAdd" and r.time > login}
        assert set(added) == everyone
        back = max(added.values()) - login
        assert back <= 5.0, f"agents back in the queue {back:.1f} s after login"
        assert link.asterisk_restarts == 1
        await olive.until(lambda: first_action_after(pbx, "Originate", login) is not None, within_s=15, what="dialing again")
        redial = first_action_after(pbx, "Originate", login)
        assert redial is not None
        # Nothing was dialed before the queue had its agents again.
        assert redial >= max(added.values())
        await olive.finish(cid, within_s=3 * 3600)
        calls = olive.calls(cid)
        assert_fault_invariants(calls, pbx)
        lost = [c for c in calls if "restart" in (c.detail or "")]
        assert lost, "no record says its call was lost to the Asterisk restart"
        abandoned, live = abandon_rate(calls)
        print(f"asterisk restart: {abandoned} abandoned / {live} live answers; agents back {back:.2f} s after login;"
              f" first Originate {redial - login:.2f} s after login; {len(lost)} call(s) lost to the restart")

    async def test_agents_of_lost_calls_are_free_and_can_log_out(self, olive: Olive) -> None:
        contacts = [number(1, 300 + i) for i in range(6)]
        pbx = olive.target.pbx
        for n in contacts:  # ring 2 s, then talk until Asterisk dies: the calls must outlast the set-up
            pbx.pin_random(f"Local/{n}@olive-test-customers", 2, 3600)
        cid = make_campaign(olive.sessions, name="restart-paused", contacts=contacts, agents=["801", "802"], retry_rules=RULES)
        engine = await olive.start()
        link = engine.links["default"]
        await olive.until(
            lambda: sum(1 for r in link.tracker.active() if r.state is CallState.CONNECTED) >= 2,
            within_s=120, what="both agents talking",
        )
        await engine.control.pause_campaign(cid)  # no new call: the agents' state is the restart's doing
        # A precondition, not a latency claim: the next tick stores what the tracker saw (measured
        # 0.1-0.9 s); the window is the set-up waits' as a stalled machine can eat 30 s at 40x.
        await olive.until(
            lambda: {agent_states(olive)[agent_interface(a)] for a in ("801", "802")} == {"on_call"},
            within_s=120, what="both agents on_call in the store",
        )
        await pbx.restart(down_s=1.0, clean=False)
        await olive.until(lambda: link.client.connections >= 2 and link.ready, within_s=60, what="olive logged in again")
        await olive.until(
            lambda: set(agent_states(olive).values()) == {"ready"}, within_s=10, what="agents ready, not on a dead call"
        )
        with transaction(olive.sessions) as s:
            agent = s.query(Agent).filter(Agent.interface == agent_interface("801")).one()
            agent_id, current = agent.id, agent.current_call_id
        assert current is None
        await engine.control.logout_agent(agent_id)  # refused (409) while it seemed on a call
        await olive.until(lambda: members(olive) == {agent_interface("802")}, within_s=10, what="only 802 back in the queue")
        # The agents are freed by the queues' re-read, the calls ended by the channels' one
        # after it: the tick storing the calls' end may come after the waits above.
        await olive.until(lambda: all(c.outcome for c in olive.calls(cid)), within_s=10, what="the lost calls stored ended")
        calls = olive.calls(cid)
        assert {c.outcome for c in calls} == {"CONNECTED"}
        assert all("restart" in (c.detail or "") for c in calls)

    async def test_no_dialing_until_the_agents_are_back(self, olive: Olive) -> None:
        """Asterisk restarts and the first QueueAdds after it are lost: olive does not
        dial into the empty queue, says why, and adds the agents again."""
        contacts = [number(1, 400 + i) for i in range(30)]
        # Only the campaign queue's QueueAdds (no callbacks queue): the first len(AGENTS) after the restart are lost.
        cid = make_campaign(
            olive.sessions, name="restart-lost-add", contacts=contacts, agents=AGENTS, retry_rules=RULES, callback_queue=None
        )
        engine = await olive.start()
        pbx = olive.target.pbx
        everyone = {agent_interface(a) for a in AGENTS}
        await olive.until(lambda: members(olive) == everyone and bool(pbx.actions_named("Originate")),
                          within_s=60, what="dialing")
        await pbx.restart(down_s=1.0, clean=False)
        restarted_at = olive.target.clock.now()
        pbx.swallow("QueueAdd", count=len(AGENTS))
        notes: set[str] = set()

        def back() -> bool:
            notes.add(engine.status_note.get(cid, ""))
            return members(olive) == everyone

        # 300 s of the simulator's time (7.5 real seconds at x40): the reconnect's backoff runs in real
        # seconds (0.5 s, 20 simulated), so under a loaded full-suite run 60 simulated seconds were not
        # always enough for the reconnect and reconciliation (seen once); alone the agents are back
        # 5 s after the login. What this test checks is the order, not the time.
        await olive.until(back, within_s=300, what="agents back in the queue")
        (login,) = [r.time for r in pbx.actions if r.action.name == "Login" and r.time > restarted_at]
        adds = [r.time for r in pbx.actions if r.action.name == "QueueAdd" and r.time > login]
        assert len(adds) == 2 * len(AGENTS), "the lost QueueAdds were not sent again"
        # Not one call while the queue was empty; the note said why.
        assert first_action_after(pbx, "Originate", login) is None or first_action_after(pbx, "Originate", login) >= max(adds)
        assert any("back in queue" in n for n in notes), notes
        await olive.finish(cid, within_s=3 * 3600)
        calls = olive.calls(cid)
        assert_fault_invariants(calls, pbx)
        print(f"restart with lost QueueAdds: agents back {max(adds) - login:.1f} s after login; notes seen: {sorted(notes)}")

    async def test_a_planned_restart_holds_dialing_and_costs_no_contact_an_attempt(self, olive: Olive) -> None:
        """``core restart now``: Asterisk hangs up every call (SoftHangupRequest Cause 4 first),
        refuses every action for about a second ("Asterisk is shutting down"), then sends
        Shutdown and closes (transcript 22). olive stops dialing at the first sign, and an
        Originate refused meanwhile placed no call: it costs its contact no attempt."""
        contacts = [number(1, 900 + i) for i in range(40)]
        cid = make_campaign(olive.sessions, name="planned-restart", contacts=contacts, agents=AGENTS, retry_rules=RULES)
        engine = await olive.start()
        link = engine.links["default"]
        pbx = olive.target.pbx
        await olive.until(
            lambda: sum(1 for r in link.tracker.active() if r.state is CallState.CONNECTED) >= 2,
            within_s=120, what="agents talking",
        )
        await pbx.restart(down_s=1.0, clean=True)
        began, closed = pbx.shutdown_began_at, pbx.shutdown_event_at
        await olive.until(lambda: link.client.connections >= 2 and link.ready, within_s=60, what="olive logged in again")
        report = await olive.finish(cid, within_s=3 * 3600)
        calls = olive.calls(cid)
        assert_fault_invariants(calls, pbx)
        # olive held dialing at the first sign: the calls' SoftHangupRequest (Cause 4), which
        # Asterisk sends before the calls end, a second before Shutdown.
        assert link.shutdown_seen is not None, "olive never noticed Asterisk was shutting down"
        held, sign = link.shutdown_seen
        assert sign == "SoftHangupRequest event"
        assert began is not None and closed is not None and began <= held
        # Nothing decided after that was sent into the refusal window.
        in_window = {r.action.get("ChannelId") for r in pbx.actions if r.action.name == "Originate" and began <= r.time <= closed}
        decided = {c.id: c.originated_at.timestamp() for c in calls}
        late = [cid_ for cid_ in in_window if decided[cid_] > held]
        assert not late, f"{len(late)} Originate(s) decided after olive knew Asterisk was shutting down"
        # Whatever was refused cost no attempt: each contact's count is the calls Asterisk placed.
        refused = [c for c in calls if "shutting down" in (c.detail or "")]
        with transaction(olive.sessions) as s:
            attempts = {c.id: c.attempts for c in s.query(Contact).filter(Contact.id.in_({c.contact_id for c in calls}))}
        placed: dict[str, int] = {}
        for c in calls:
            if c not in refused:
                placed[c.contact_id or ""] = placed.get(c.contact_id or "", 0) + 1
        assert {k: attempts[k] for k in placed} == placed
        for call in refused:  # and each such contact was dialed again
            assert any(c.contact_id == call.contact_id and c.originated_at > call.originated_at for c in calls), call.id
        assert report.contacts.get("dialing", 0) == 0
        print(f"planned restart: olive held dialing {held - began:.2f} s after Asterisk began shutting down "
              f"(Shutdown came {closed - began:.2f} s after); {len(in_window)} Originate(s) sent into the refusal "
              f"window, {len(refused)} refused, none charged")
