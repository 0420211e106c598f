"""Duplicate and contradictory OriginateResponses from a running Asterisk (issue 10, item 5).

Reported: a late, contradicting OriginateResponse (Failure, Failure, then Success)
turned a BUSY call into ABANDONED and inflated the abandon rate. Asterisk answers
each Originate once; the simulator here answers one busy call Failure, Failure,
then Success, and one connected call Success, then Failure. The first final answer
stands and the outcome follows what each call really did.

Played in memory on a manual clock (tests/engine/memory.py), not over TCP at 40x real
time: nothing here is about the transport, and the figures are exact.
"""

from __future__ import annotations

from e2e.harness import make_campaign, number
from engine.memory import InMemory
from faults.checks import abandon_rate, assert_fault_invariants

AGENTS = ["801", "802"]
RULES = {k: {"max_attempts": 2, "delay_s": 20} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


async def test_the_first_final_answer_stands(mem: InMemory) -> None:
    pbx = mem.pbx
    busy, answers = number(2, 1), number(1, 1)
    contacts = [busy, answers, *(number(1, 10 + i) for i in range(10))]
    # The busy call: Failure (Reason 5), the same again, then Success Reason 4, all before
    # its channels' Hangups (an OriginateResponse may come first: transcripts 09, 15).
    pbx.odd_event("OriginateResponse", where={"Channel": f"Local/{busy}@"},
                  then=[{}, {"Response": "Success", "Reason": "4"}])
    pbx.odd_event("Hangup", count=2, delay_s=2.0, where={"Channel": f"Local/{busy}@"})
    # The answered call: Success, then Failure Reason 5 (busy) after it.
    pbx.odd_event("OriginateResponse", where={"Channel": f"Local/{answers}@"},
                  then=[{"Response": "Failure", "Reason": "5"}])
    cid = make_campaign(mem.sessions, name="contradictory", contacts=contacts, agents=AGENTS, retry_rules=RULES)
    await mem.start()
    await mem.finish(cid, within_s=3 * 3600)
    calls = mem.calls(cid)
    assert not pbx._odd, "the contradicting answers were never sent"
    assert_fault_invariants(calls, pbx)
    first = {}
    for call in calls:
        first.setdefault(call.number, call)
    assert first[busy].outcome == "BUSY", (first[busy].outcome, first[busy].detail)
    assert first[busy].answered_at is None
    connected = first[answers]
    assert connected.outcome == "CONNECTED" and connected.agent_interface, (connected.outcome, connected.detail)
    assert "contradictory OriginateResponse ignored (Failure Reason 5)" in (connected.detail or "")
    abandoned, live = abandon_rate(calls)
    assert (abandoned, live) == (0, 11)
    print(f"contradictory answers: busy call {first[busy].outcome}, answered call {connected.outcome}; "
          f"{abandoned} abandoned / {live} live answers")
