"""An Originate whose answer never comes, while the AMI connection stays up.

Asterisk takes the action and says nothing (a wedged manager thread), or
answers "successfully queued" and then never sends an OriginateResponse or a
channel event. olive must not hold the line and the contact forever: within
the dial timeout plus a margin it asks Asterisk whether the call exists,
finishes it with a clear reason when it does not, and frees its contact.

No answer at all runs over TCP: the AMI client's clock for an unanswered action (the
link's "degraded") is real time. "Queued" then silence runs in memory on a manual clock
(tests/engine/memory.py), where the time the lost call held its line is exact.
"""

from __future__ import annotations

from e2e.harness import SCALE, Olive, make_campaign, number
from engine.memory import InMemory
from faults.checks import abandon_rate, assert_fault_invariants
from olive.engine import ORIGINATE_MARGIN_S
from olive.engine._link import DEGRADED_AFTER_S

DIAL_TIMEOUT_S = 15
RULES = {k: {"max_attempts": 3, "delay_s": 5} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


async def test_an_originate_never_answered_is_finished_and_its_contact_freed(olive: Olive) -> None:
    pbx = olive.target.pbx
    contacts = [number(1, 500 + i) for i in range(12)]
    cid = make_campaign(olive.sessions, name="lost", contacts=contacts, agents=["801", "802"],
                        retry_rules=RULES, dial_timeout_s=DIAL_TIMEOUT_S)
    pbx.swallow("Originate", acknowledge=False)  # the very first Originate is lost
    engine = await olive.start()
    link = engine.links["default"]
    await olive.until(lambda: bool(pbx.actions_named("Originate")), within_s=60, what="a first Originate")
    (first,) = [r for r in pbx.actions if r.action.name == "Originate"][:1]
    lost_id = first.action.get("ChannelId")
    # While its answer is missing, /ready says the link is not answering.
    # (the AMI client's clock is real time: 5 s unanswered, at the harness's scale)
    await olive.until(lambda: link.health == "degraded", within_s=(DEGRADED_AFTER_S + 3) * SCALE, what="link degraded")
    report = await olive.finish(cid, within_s=3 * 3600)
    calls = olive.calls(cid)
    assert_fault_invariants(calls, pbx)
    lost = next(c for c in calls if c.id == lost_id)
    assert lost.outcome == "FAILED" and "no channel" in (lost.detail or ""), lost.detail
    held = (lost.ended_at - lost.originated_at).total_seconds()
    # + 10 s: the engine's tick and the event loop, seen at 40x on a busy machine
    assert held <= DIAL_TIMEOUT_S + ORIGINATE_MARGIN_S + 10, f"the lost call held its line {held:.1f} s"
    # Its contact was freed and tried again, by the FAILED rule.
    again = [c for c in calls if c.contact_id == lost.contact_id and c.id != lost.id]
    assert again and again[0].outcome == "CONNECTED"
    assert report.contacts.get("dialing", 0) == 0
    abandoned, live = abandon_rate(calls)
    print(f"lost Originate (no response): line held {held:.1f} s "
          f"(dial timeout {DIAL_TIMEOUT_S} s); {abandoned} abandoned / {live} live answers")


async def test_a_queued_originate_never_heard_of_again_is_finished_and_its_contact_freed(mem: InMemory) -> None:
    """Asterisk answers "successfully queued" and then sends no OriginateResponse and no channel
    event. Within the dial timeout plus a margin olive asks Asterisk whether the call exists,
    finishes it with a clear reason when it does not, and frees its contact."""
    contacts = [number(1, 500 + i) for i in range(12)]
    cid = make_campaign(mem.sessions, name="lost", contacts=contacts, agents=["801", "802"],
                        retry_rules=RULES, dial_timeout_s=DIAL_TIMEOUT_S)
    mem.pbx.swallow("Originate", acknowledge=True)  # the very first Originate is lost
    await mem.start()
    report = await mem.finish(cid, within_s=3 * 3600)
    calls = mem.calls(cid)
    assert_fault_invariants(calls, mem.pbx)
    (first,) = [r for r in mem.pbx.actions if r.action.name == "Originate"][:1]
    lost = next(c for c in calls if c.id == first.action.get("ChannelId"))
    assert lost.outcome == "FAILED" and "no channel" in (lost.detail or ""), lost.detail
    assert lost.ended_at is not None
    held = (lost.ended_at - lost.originated_at).total_seconds()
    # Asked at the first tick after the dial timeout and the margin (the TCP test allowed 10 s more).
    assert DIAL_TIMEOUT_S + ORIGINATE_MARGIN_S <= held <= DIAL_TIMEOUT_S + ORIGINATE_MARGIN_S + 2 * mem.tick_s, held
    # Its contact was freed and tried again, by the FAILED rule.
    again = [c for c in calls if c.contact_id == lost.contact_id and c.id != lost.id]
    assert again and again[0].outcome == "CONNECTED"
    assert report.contacts.get("dialing", 0) == 0
    assert report.outcomes == {"CONNECTED": 12, "FAILED": 1}
