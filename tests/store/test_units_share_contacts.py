"""Two units of one campaign (one per server) claim from the same contacts (issue 15): never the same one.

A unit's engine claims a tick's contacts with ``claim_and_insert_calls``
(a conditional UPDATE ``WHERE active_call_id IS NULL``, in its fenced dial
transaction). When the unit on the other server picks the same contacts at
the same moment, it waits for the first one's row locks and then wins only
the contacts still free: each contact has one call, on one server.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from olive.store import Call, Contact, NewCall, claim_and_insert_calls

from .conftest import Factory

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def calls_for(campaign_id: str, contacts: list[Contact], server: str) -> list[NewCall]:
    return [
        NewCall(f"call_{server}_{i}", campaign_id, c.id, c.numbers[0].id, c.numbers[0].number, 1, server, {})
        for i, c in enumerate(contacts)
    ]


def test_a_unit_claiming_contacts_another_unit_holds_wins_only_the_free_ones(
    session: Session, session_factory: sessionmaker[Session], factory: Factory
) -> None:
    dial_list = factory.dial_list()
    campaign = factory.campaign(dial_lists=[dial_list], server="pbx-a")
    contacts = [factory.contact(dial_list, numbers=(f"+1555123100{i}",)) for i in range(6)]
    session.commit()
    won: dict[str, set[str]] = {}

    def unit_b() -> None:  # picks contacts 2..5, two of which unit A is claiming right now
        with session_factory() as b, b.begin():
            won["pbx-b"] = claim_and_insert_calls(b, calls_for(campaign.id, contacts[2:], "pbx-b"), NOW)

    with session_factory() as a, a.begin():
        won["pbx-a"] = claim_and_insert_calls(a, calls_for(campaign.id, contacts[:4], "pbx-a"), NOW)
        thread = threading.Thread(target=unit_b)
        thread.start()
        thread.join(timeout=1.0)  # B waits on A's row locks (PostgreSQL) or the write lock (SQLite)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert won["pbx-a"] == {f"call_pbx-a_{i}" for i in range(4)}
    assert won["pbx-b"] == {"call_pbx-b_2", "call_pbx-b_3"}  # contacts 4 and 5: the ones A did not hold
    with session_factory() as s:
        holders = {c.id: c.active_call_id for c in s.scalars(select(Contact))}
        calls = {c.id: (c.contact_id, c.server) for c in s.scalars(select(Call))}
    assert len(calls) == 6 and len({contact for contact, _ in calls.values()}) == 6
    for contact in contacts:
        assert calls[holders[contact.id] or ""][0] == contact.id
