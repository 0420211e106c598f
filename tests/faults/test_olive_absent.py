"""Calls end while olive is down (crashed, being upgraded).

The shipped dialplan's hangup handler leaves each answered call's result in
AstDB; olive reads it back (DBGet) when it is back, so a customer who talked
to an agent meanwhile is recorded CONNECTED and never dialed again, and an
answer abandoned meanwhile counts in the abandon statistics.
"""

from __future__ import annotations

from collections import Counter

from tests.sim.client import Client

from e2e.harness import QUEUE, Olive, agent_interface, make_campaign, number
from faults.checks import abandon_rate, assert_fault_invariants, crash
from olive.ami import action
from olive.calls import CallState
from olive.engine import Engine

AGENTS = ["801", "802", "803"]
RULES = {k: {"max_attempts": 3, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


def ringing(engine: Engine) -> list[str]:
    link = engine.links["default"]
    return [r.call_id for r in link.tracker.active() if r.state in (CallState.ORIGINATING, CallState.RINGING)]


async def outage(olive: Olive, contacts: list[str], name: str) -> tuple[set[str], dict[str, str], Olive]:
    """Crash olive while calls ring; let them be answered and end unseen; start a new olive."""
    make = make_campaign(olive.sessions, name=name, contacts=contacts, agents=AGENTS, retry_rules=RULES)
    pbx = olive.target.pbx
    for n in contacts[:3]:  # the first calls ring 8 s: olive dies while Asterisk rings them
        pbx.pin_random(f"Local/{n}@olive-test-customers", 8, 30)
    first = await olive.start()

    def ringing_at_asterisk() -> int:
        ours = set(ringing(first))
        return len({c.linkedid for c in pbx.channels() if c.linkedid in ours and c.state != "Up"})

    await olive.until(lambda: ringing_at_asterisk() >= 2, within_s=120, what="calls ringing at Asterisk")
    in_flight = {r.call_id for r in first.links["default"].tracker.active()}
    await crash(first)
    return in_flight, {"campaign": make}, olive


class TestOliveAbsent:
    async def test_calls_connected_while_olive_was_down_are_not_dialed_again(self, olive: Olive) -> None:
        contacts = [number(1, 600 + i) for i in range(45)]
        in_flight, ids, _ = await outage(olive, contacts, "absent")
        pbx = olive.target.pbx
        await olive.until(lambda: not pbx.channels(), within_s=120, what="the calls ended unseen")
        gone_at = olive.target.clock.now()  # every call of the outage had ended by then
        results = {k.split("/", 1)[1]: v for k, v in pbx.astdb.items() if k.split("/", 1)[1] in in_flight}
        connected = {cid for cid, v in results.items() if v.startswith("CONNECTED")}
        assert connected, f"no call connected during the outage: {results}"
        await olive.target.clock.sleep(120)  # olive stays down two minutes more
        second = Olive(olive.sessions, olive.target, olive.guard)
        try:
            await second.start()
            await second.finish(ids["campaign"], within_s=3 * 3600)
            calls = second.calls(ids["campaign"])
        finally:
            await second.stop()
        by_id = {c.id: c for c in calls}
        for call_id in connected:
            call = by_id[call_id]
            assert call.outcome == "CONNECTED", (call_id, call.outcome, call.detail)
            assert "AstDB" in (call.detail or "")
            assert call.agent_interface in {agent_interface(a) for a in AGENTS}
            # It ended when the hangup handler ran (${EPOCH}, whole seconds), not when olive read it back.
            assert call.ended_at is not None
            ended = call.ended_at.timestamp()
            assert ended <= gone_at + 1.0, f"{call_id} ended {ended - gone_at:.0f} s after its channels were gone"
            assert call.talk_s is None or 0 <= call.talk_s <= 41, call.talk_s
        assert_fault_invariants(calls, pbx)
        assert not any(k.split("/", 1)[1] in in_flight for k in pbx.astdb), "olive left results in AstDB"
        deleted = Counter(a.get("Key") for a in pbx.actions_named("DBDel"))
        assert all(n == 1 for n in deleted.values()), f"a result deleted twice: {deleted.most_common(3)}"
        abandoned, live = abandon_rate(calls)
        print(f"olive absent: {len(in_flight)} call(s) in flight at the crash, {len(connected)} connected unseen "
              f"and recorded CONNECTED; {abandoned} abandoned / {live} live answers")

    async def test_answers_abandoned_while_olive_was_down_count(self, olive: Olive) -> None:
        contacts = [number(1, 700 + i) for i in range(6)]
        pbx = olive.target.pbx
        cid = make_campaign(olive.sessions, name="absent-abandon", contacts=contacts, agents=AGENTS, retry_rules=RULES)
        for n in contacts:  # each rings 8 s before it answers (then talks 30 s): time to step away
            pbx.pin_random(f"Local/{n}@olive-test-customers", 8, 30)
        first = await olive.start()
        # As soon as Asterisk has the first calls (they ring 2-4 s), before any is answered,
        # the agents step away (paused at their phones) and olive dies: the answers wait in vain.
        await olive.until(lambda: len(pbx.actions_named("Originate")) >= 2, within_s=120, what="calls placed")
        for a in AGENTS:
            act = action("QueuePause", Queue=QUEUE, Interface=agent_interface(a), Paused="true")
            pbx.core.sched.run_now(lambda act=act: pbx.queues.pause(act))
        in_flight = {r.call_id for r in first.links["default"].tracker.active()}
        await crash(first)
        ids = {"campaign": cid}
        await olive.until(lambda: not pbx.channels(), within_s=120, what="the calls ended unseen")
        abandoned_unseen = {k.split("/", 1)[1] for k, v in pbx.astdb.items() if v.startswith("ABANDONED")} & in_flight
        assert not pbx.core.rand_pins.get(f"Local/{contacts[0]}@olive-test-customers"), "the ring pin was not used"
        assert abandoned_unseen, (pbx.astdb, in_flight, pbx.queue_members(QUEUE))
        assert pbx.port is not None
        desk = await Client.connect(pbx.port)  # back at their desks
        await desk.response(desk.send("Login", Username="olive", Secret="olive-test", Events="off"))
        for a in AGENTS:
            await desk.response(desk.send("QueuePause", Queue=QUEUE, Interface=agent_interface(a), Paused="false"))
        second = Olive(olive.sessions, olive.target, olive.guard)
        try:
            await second.start()
            report = await second.finish(ids["campaign"], within_s=3 * 3600)
            calls = second.calls(ids["campaign"])
        finally:
            await second.stop()
        by_id = {c.id: c for c in calls}
        assert {by_id[i].outcome for i in abandoned_unseen} == {"ABANDONED"}
        abandoned, live = abandon_rate(calls)
        assert report.abandon["campaign"]["abandoned"] == abandoned >= len(abandoned_unseen)
        print(f"olive absent, agents away: {len(abandoned_unseen)} answer(s) abandoned unseen and counted; "
              f"{abandoned} abandoned / {live} live answers")

    async def test_without_results_in_astdb_an_unknown_outcome_is_not_redialed(self, olive: Olive) -> None:
        """A dialplan without the [olive-outcome] hangup handler: what happened while olive
        was down cannot be known, and those contacts are not dialed again as if unreached."""
        pbx = olive.target.pbx
        del pbx.core.dialplan.contexts["olive-outcome"]  # the handler is pushed but does nothing
        contacts = [number(1, 800 + i) for i in range(6)]
        for n in contacts:
            pbx.pin_random(f"Local/{n}@olive-test-customers", 8, 30)
        cid = make_campaign(olive.sessions, name="absent-unknown", contacts=contacts, agents=AGENTS, retry_rules=RULES)
        first = await olive.start()
        await olive.until(lambda: len(pbx.actions_named("Originate")) >= 2, within_s=120, what="calls placed")
        in_flight = {r.call_id for r in first.links["default"].tracker.active()}
        await crash(first)
        await olive.until(lambda: not pbx.channels(), within_s=120, what="the calls ended unseen")
        assert not pbx.astdb
        second = Olive(olive.sessions, olive.target, olive.guard)
        try:
            await second.start()
            await second.finish(cid, within_s=3 * 3600)
            calls = second.calls(cid)
        finally:
            await second.stop()
        unknown = [c for c in calls if c.id in in_flight]
        assert unknown and all(c.outcome == "FAILED" and "outcome unknown" in (c.detail or "") for c in unknown)
        for call in unknown:  # they talked to an agent, unseen: never dialed again
            assert [c.id for c in calls if c.contact_id == call.contact_id] == [call.id]
        assert_fault_invariants(calls, pbx)
