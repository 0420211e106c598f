"""An Originate whose answer never comes, while the AMI connection stays up.

Asterisk takes the action and says nothing (a wedged manager thread), or
answers "successfully queued" and then never sends an OriginateResponse or a
channel event. olive must not hold the line and the contact forever: within
the dial timeout plus a margin it asks Asterisk whether the call exists,
finishes it with a clear reason when it does not, and frees its contact.
"""

from __future__ import annotations

import pytest

from e2e.harness import SCALE, Olive, make_campaign, number
from faults.checks import abandon_rate, assert_fault_invariants
from olive.engine import ORIGINATE_MARGIN_S
from olive.engine._link import DEGRADED_AFTER_S

DIAL_TIMEOUT_S = 15
RULES = {k: {"max_attempts": 3, "delay_s": 5} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}


@pytest.mark.parametrize("acknowledge", [False, True], ids=["no-response", "queued-then-silence"])
async def test_lost_originate_is_finished_and_its_contact_freed(olive: Olive, acknowledge: bool) -> None:
    pbx = olive.target.pbx
    contacts = [number(1, 500 + i) for i in range(12)]
    cid = make_campaign(olive.sessions, name="lost", contacts=contacts, agents=["801", "802"],
                        retry_rules=RULES, dial_timeout_s=DIAL_TIMEOUT_S)
    pbx.swallow("Originate", acknowledge=acknowledge)  # the very first Originate is lost
    engine = await olive.start()
    link = engine.links["default"]
    await olive.until(lambda: bool(pbx.actions_named("Originate")), within_s=60, what="a first Originate")
    (first,) = [r for r in pbx.actions if r.action.name == "Originate"][:1]
    lost_id = first.action.get("ChannelId")
    # While its answer is missing, /ready says the link is not answering.
    if not acknowledge:
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
    print(f"lost Originate ({'queued' if acknowledge else 'no response'}): line held {held:.1f} s "
          f"(dial timeout {DIAL_TIMEOUT_S} s); {abandoned} abandoned / {live} live answers")
