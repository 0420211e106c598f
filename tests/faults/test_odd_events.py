"""Odd events from a running Asterisk (issue 10, item 4), played by the simulator.

Reported: one event stamped ``Timestamp: 1e12`` made every tick fail and dialing
stopped for good; a stamp 21 h ahead gave negative ring times, ``talk_s`` of
77,235 s and a pacer that believed talk lasts hours. Here the simulator sends,
into a running campaign, what a real Asterisk can: stamps from a clock gone
wrong, a malformed field, a field missing, an event olive does not model, events
about channels that are not olive's, and answers that come late, after the
events that followed them. olive must keep dialing and keep its figures sane.

Played in memory on a manual clock (tests/engine/memory.py), not over TCP at 40x real
time: the time olive gets an event is then the simulator's own, so the figures are held
to what the customers lived (the TCP run had to allow 60 s for a stalled machine).
"""

from __future__ import annotations

from typing import Any

from e2e.harness import make_campaign, number
from engine.memory import InMemory
from faults.checks import abandon_rate, assert_fault_invariants
from olive.calls import CallState

AGENTS = ["801", "802", "803", "804"]
RULES = {k: {"max_attempts": 3, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}
# olive-test.conf: a 1xxx customer rings 2-4 s and talks 20-40 s.
RING_S, TALK_S = (2, 4), (20, 40)
#: Where an odd stamp gave way to the time olive read the event (seen: a talk of 40.5 s).
#: Over TCP at 40x this had to be 60 s, for a stalled machine.
SLACK_S = 1.0


async def test_odd_events_neither_stop_dialing_nor_bend_the_figures(mem: InMemory) -> None:
    pbx = mem.pbx
    contacts = [number(1, 200 + i) for i in range(40)]
    cid = make_campaign(mem.sessions, name="odd-events", contacts=contacts, agents=AGENTS, retry_rules=RULES,
                        dial_mode="predictive")  # the pacer that learns talk and ring times
    engine = mem.engine
    await mem.start()
    link = engine.links["default"]
    await mem.run_until(lambda: bool(pbx.actions_named("Originate")), within_s=60, what="dialing")
    now = mem.clock.now()
    # A host clock gone wrong (the two stamps), on a call's first event and on its connect.
    pbx.odd_event("Newchannel", count=2, Timestamp="1e12")
    pbx.odd_event("AgentConnect", Timestamp=f"{now + 21 * 3600:.6f}")
    pbx.odd_event("Newstate", Timestamp=f"{now - 21 * 3600:.6f}")
    # Malformed: a state that is not a number; a channel block without its Uniqueid.
    pbx.odd_event("Newstate", ChannelState="Up")
    pbx.odd_event("DialBegin", DestUniqueid=None)
    # Out of order: a call's answer (from another thread in Asterisk) comes 3 s late.
    pbx.odd_event("OriginateResponse", count=2, delay_s=3.0)
    # Events olive does not model, and events about someone else's channels.
    pbx.send_event("ChannelTalkingStart", Channel="PJSIP/someone-000000aa", Uniqueid="1.170", Linkedid="1.170")
    stranger = {"Channel": "PJSIP/someone-000000ab", "ChannelState": "6", "ChannelStateDesc": "Up",
                "CallerIDNum": "5550100", "CallerIDName": "<unknown>", "ConnectedLineNum": "<unknown>",
                "ConnectedLineName": "<unknown>", "Language": "en", "AccountCode": "", "Context": "from-pstn",
                "Exten": "s", "Priority": "1", "Uniqueid": "1.171", "Linkedid": "1.171"}
    pbx.send_event("Newstate", **stranger)
    pbx.send_event("Hangup", **stranger, Cause="16", **{"Cause-txt": "Normal Clearing"})
    estimates: list[dict[str, Any]] = []

    def sample() -> bool:
        runner = engine.runners.get(cid)
        if runner is not None:
            estimates.append(dict(runner.pacer.estimates()))
        return (engine.note(cid) or "").startswith("finished")

    await mem.run_until(sample, within_s=3 * 3600, what="campaign finished")
    assert mem.report(cid).status == "finished"
    calls = mem.calls(cid)
    assert_fault_invariants(calls, pbx)
    # Every odd event was sent, and each was seen for what it is.
    assert not pbx._odd, "an odd event was never sent"
    assert link.event_clock.ignored >= 4, link.event_clock.ignored  # the four bad stamps
    assert link.malformed_events >= 1
    # The engine never stalled: no tick failed, no event broke a call.
    assert engine.health.tick_failures == 0, engine.health.last_tick_error
    assert link.event_failures == 0
    # The figures stay what the customers lived: the were negative, and hours. (An odd
    # stamp gives way to the time olive got the event: on the manual clock, the simulator's time
    # to within SLACK_S.)
    for call in calls:
        assert call.ring_s is None or 0 <= call.ring_s <= RING_S[1] + SLACK_S, (call.id, call.ring_s, call.detail)
        if call.outcome == "CONNECTED":
            assert call.talk_s is not None and 0 < call.talk_s <= TALK_S[1] + SLACK_S, (call.id, call.talk_s)
    learned = [e["talk_mean_s"] for e in estimates if e.get("talk_mean_s")]
    assert learned and max(learned) <= TALK_S[1] + SLACK_S, f"the pacer learned talk of {max(learned or [0]):.0f} s"
    delays = [e["answer_delay_mean_s"] for e in estimates if e.get("answer_delay_mean_s")]
    assert not delays or max(delays) <= RING_S[1] + SLACK_S
    assert not [r for r in link.tracker.active() if r.state is not CallState.ENDED]
    abandoned, live = abandon_rate(calls)
    print(f"odd events: {link.event_clock.ignored} stamps ignored, {link.malformed_events} malformed skipped, "
          f"0 ticks failed; talk learned up to {max(learned):.1f} s; {abandoned} abandoned / {live} live answers")
