"""Calling hours in the real engine against the simulated Asterisk, around a window's edge on a DST day.

Sunday 2025-03-09 is the day US clocks spring forward. At 12:00:00 UTC it is
08:00 EDT in New York (the window opens; under EST it would still be 07:00),
21:00 JST in Tokyo (the window closes), 07:00 CDT in Chicago, 06:00 MDT in
Boise, 05:00 PDT in Los Angeles and 12:00 GMT in London.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive.compliance import Schedule, contact_zones, open_in_all
from olive.store import Contact, ContactRow, DncCheck, from_epoch, to_epoch, transaction

from .harness import Rig, answering_agent, epoch, make_campaign, start_rig

EDGE = datetime(2025, 3, 9, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
async def rig(session_factory: sessionmaker[Session]) -> AsyncIterator[Rig]:
    r = await start_rig(session_factory, EDGE - 120)
    yield r
    await r.stop()
    await r.pbx.stop()


def order(session_factory: sessionmaker[Session], ids: list[str]) -> None:
    """Make the due order the listed order (ids alone do not sort within a millisecond)."""
    with transaction(session_factory) as s:
        for i, contact_id in enumerate(ids):
            contact = s.get(Contact, contact_id)
            assert contact is not None
            contact.next_attempt_at = from_epoch(EDGE - 3600 + i)


async def test_no_call_outside_the_window_in_any_zone(rig: Rig, session_factory: sessionmaker[Session]) -> None:
    rows = [("ny-early", ContactRow(numbers=("+12125550200",)))]
    rows += [(f"tokyo{i}", ContactRow(numbers=(f"+121255501{i:02d}",), timezone="Asia/Tokyo")) for i in range(12)]
    rows += [(f"ny{i}", ContactRow(numbers=(f"+1212555020{i + 1}",))) for i in range(2)]
    rows += [(f"chicago{i}", ContactRow(numbers=(f"+1312555010{i}",))) for i in range(2)]
    rows += [("boise-la", ContactRow(numbers=("+12085550100",)))]
    rows += [(f"london{i}", ContactRow(numbers=(f"+44207946000{i}",))) for i in range(2)]
    campaign_id, ids = make_campaign(
        session_factory, name="edge", contacts=[r for _, r in rows], agents=[answering_agent(str(n)) for n in range(301, 305)],
        customers="cc-answer",
    )
    order(session_factory, ids)
    who = {name: contact_id for (name, _), contact_id in zip(rows, ids, strict=True)}
    group = {name: [cid for n, cid in who.items() if n.startswith(name)] for name in ("tokyo", "ny", "chicago", "boise", "london")}

    await rig.start()
    # First tick, two minutes before the edge: the New York contact first in line is put off to
    # 08:00 EDT (12:00 UTC, not 13:00: daylight saving started this morning); four Tokyo contacts
    # are dialed. Each call lasts 90 s, so at most two rounds of Tokyo calls fit before the edge.
    await rig.until(lambda: len(rig.calls(campaign_id)) >= 4, within_s=60, what="four calls before the edge")
    early = rig.contact(who["ny-early"])
    assert early.next_attempt_at is not None and to_epoch(early.next_attempt_at) == EDGE
    # Then past the edge until New York and London have been dialed.
    wanted = set(group["ny"]) | set(group["london"])
    await rig.until(lambda: wanted <= {c.contact_id for c in rig.calls(campaign_id)}, within_s=400, what="New York and London dialed")
    await rig.stop()

    calls = rig.calls(campaign_id)
    contacts = {c.id: c for c in rig.contacts(campaign_id)}
    schedule = Schedule()
    for call in calls:
        contact = contacts[call.contact_id or ""]
        zones = contact_zones(contact.timezone, call.number).names
        assert open_in_all(schedule, zones, to_epoch(call.originated_at)), (call.number, zones, call.originated_at)
    dialed = {c.contact_id: to_epoch(c.originated_at) for c in calls}
    # New York opened at 12:00:00 UTC, Tokyo closed then.
    assert all(dialed[c] >= EDGE for c in group["ny"])
    assert all(dialed[c] < EDGE for c in group["tokyo"] if c in dialed)
    assert 4 <= sum(1 for c in group["tokyo"] if c in dialed) <= 8
    for contact_id in group["tokyo"]:
        if contact_id not in dialed:
            assert epoch(contacts[contact_id].next_attempt_at) == EDGE + 11 * HOUR  # 08:00 JST Monday
    for contact_id in group["chicago"]:
        assert contact_id not in dialed
        assert epoch(contacts[contact_id].next_attempt_at) == EDGE + HOUR  # 08:00 CDT
    # A number in two zones waits for the later: 08:00 in Los Angeles, not in Boise.
    boise = contacts[group["boise"][0]]
    assert boise.id not in dialed and epoch(boise.next_attempt_at) == EDGE + 3 * HOUR
    # Nothing refused for hours was checked against the DNC lists, and every call was.
    with transaction(session_factory) as s:
        checks = list(s.scalars(select(DncCheck)))
    assert sorted(c.call_id or "" for c in checks) == sorted(c.id for c in calls)
    assert all(c.result == "clear" for c in checks)
