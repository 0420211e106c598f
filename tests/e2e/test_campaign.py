"""The campaign the core issue names: 200 contacts, 5 agents, to completion, on SQLite and PostgreSQL,
against a real Asterisk (OLIVE_TEST_AMI).

Against the simulator it runs in memory on a manual clock: tests/engine/test_campaign_memory.py,
with exact figures on both backends. Over TCP at 40x real time it took about a minute on SQLite
and several on PostgreSQL, and a loaded machine made the PostgreSQL run miss its deadline.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from cli_helpers import taken_port
from conftest import BACKENDS, POSTGRES_URL_ENV, postgres_admin_url
from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import REAL_AMI, Olive, make_campaign, number


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    url = make_url(postgres_admin_url())
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        return f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)} (set {POSTGRES_URL_ENV}): {exc.orig}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="module", params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    # Against a real Asterisk (a lab box, often without PostgreSQL) the PostgreSQL
    # variant says it was not run.
    if backend == "postgresql" and REAL_AMI and (why := postgres_unreachable()):
        pytest.skip(f"not run against a real Asterisk: {why}")
    return backend


@pytest.mark.real_asterisk
@pytest.mark.skipif(not REAL_AMI, reason="against the simulator: tests/engine/test_campaign_memory.py (in memory, same campaign)")
class TestCampaignOfTwoHundred:
    async def test_200_contacts_5_agents_to_completion(self, olive: Olive) -> None:
        kinds = [1] * 80 + [2] * 30 + [3] * 30 + [4] * 20 + [5] * 20 + [6] * 20
        contacts = [number(kind, i) for i, kind in enumerate(kinds)]
        rules = {k: {"max_attempts": 2, "delay_s": 30} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED")}
        # Five tries for a dropped answer: a real Asterisk's timing (and, at 40x real time,
        # a loaded machine) may drop a 1xxx answer now and then (see below).
        rules["ABANDONED"] = {"max_attempts": 5, "delay_s": 30}
        cid = make_campaign(
            olive.sessions, name="two-hundred", contacts=contacts, agents=["101", "102", "103", "104", "105"],
            retry_rules=rules, max_concurrent=20,
        )
        await olive.start()
        report = await olive.finish(cid, within_s=4 * 3600)
        calls = olive.calls(cid)
        assert_every_attempt_recorded_once(calls, olive.target.pbx)
        assert_no_contact_dialed_twice_at_once(calls)
        assert report.outcomes["CONNECTED"] == 80
        assert report.outcomes["INVALID_NUMBER"] == 20  # never retried
        assert report.outcomes["BUSY"] == 60  # two attempts each
        # The 5xxx hang up before any agent answers, five times each.
        gone = [c for c in calls if c.number[8] == "5"]
        assert len(gone) == 100
        assert {(c.outcome, c.abandon_reason) for c in gone} == {("ABANDONED", "caller_hangup")}
        # An agent rung for a 5xxx customer is tied up until that customer leaves, so
        # now and then an answered 1xxx customer finds no agent free within the 2 s
        # connect limit: a drop, retried, and that contact reached later (all 80 are,
        # below). How many such drops happen depends on the machine's timing, so no
        # count is asserted: 8 was exceeded under load (13 of 200) with every contact reached.
        dropped = [c for c in calls if c.outcome == "ABANDONED" and c.number[8] != "5"]
        assert all(c.abandon_reason == "timeout" and c.number[8] == "1" for c in dropped), dropped
        assert report.outcomes["ABANDONED"] == 100 + len(dropped)
        assert report.contacts == {"done": 80, "exhausted": 120}
        assert sum(report.outcomes.values()) == len(calls)


def test_an_unreachable_postgresql_is_reported_with_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    with taken_port() as port:
        pass  # a port nothing listens on any more
    monkeypatch.setenv(POSTGRES_URL_ENV, f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    why = postgres_unreachable()
    assert why is not None and f"127.0.0.1:{port}" in why and POSTGRES_URL_ENV in why
