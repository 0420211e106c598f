"""Campaigns become units on their own server (issue 15): what ``olive serve --scale-out`` nodes do
before they look for work, so a campaign created or started through the API gets dialed."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from olive.store import ServerLimits, ensure_units, register_servers, set_campaign_servers, units

from .conftest import Factory


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "postgresql"


def test_each_held_campaign_gets_one_unit_on_its_server_once(session: Session, factory: Factory) -> None:
    register_servers(session, {"pbx-a": ServerLimits(), "pbx-b": ServerLimits()})
    running = factory.campaign(status="running", server="pbx-b")
    paused = factory.campaign(status="paused", server="pbx-a")
    factory.campaign(status="stopped", server="pbx-a")  # nothing to dial
    factory.campaign(status="running", server="pbx-z")  # no such server in the pool: nobody could dial it
    placed = factory.campaign(status="running", server="pbx-a")
    set_campaign_servers(session, placed.id, ["pbx-b"])  # already has its units: left as they are
    session.flush()
    assert ensure_units(session) == 2
    assert ensure_units(session) == 0
    got = {(u.campaign_id, u.server, u.owner_node, u.token) for u in units(session)}
    assert got == {(running.id, "pbx-b", None, 0), (paused.id, "pbx-a", None, 0), (placed.id, "pbx-b", None, 0)}
