"""The campaign the core issue names: 200 contacts, 5 agents, to completion, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from conftest import BACKENDS
from e2e.checks import assert_every_attempt_recorded_once, assert_no_contact_dialed_twice_at_once
from e2e.harness import Olive, make_campaign, number


@pytest.fixture(scope="module", params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


class TestCampaignOfTwoHundred:
    async def test_200_contacts_5_agents_to_completion(self, olive: Olive) -> None:
        kinds = [1] * 80 + [2] * 30 + [3] * 30 + [4] * 20 + [5] * 20 + [6] * 20
        contacts = [number(kind, i) for i, kind in enumerate(kinds)]
        rules = {k: {"max_attempts": 2, "delay_s": 30} for k in ("BUSY", "NO_ANSWER", "CONGESTION", "FAILED", "ABANDONED")}
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
        assert report.outcomes["ABANDONED"] == 40  # the 5xxx hang up before any agent, twice
        assert report.contacts == {"done": 80, "exhausted": 120}
        assert sum(report.outcomes.values()) == len(calls)
