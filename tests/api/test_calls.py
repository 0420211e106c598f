"""/calls over HTTP: filtered, paginated records, one call, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .conftest import LiveApi
from .helpers import error, insert_call, make_campaign, ok

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def calls(admin: httpx.Client, live_api: LiveApi) -> dict[str, Any]:
    """Two campaigns' calls: a at T0 (CONNECTED, agent), b at T0+1h (BUSY), c at T0+2h (other campaign)."""
    one, two = make_campaign(admin), make_campaign(admin)
    contacts = ok(admin.get(f"/dial-lists/{one['dial_list_ids'][0]}/contacts"))["items"]
    agent_id = one["agent_ids"][0]
    a = insert_call(
        live_api.sessions, one["id"], contact_id=contacts[0]["id"], agent_id=agent_id, agent_interface="PJSIP/1",
        originated_at=T0, answered_at=T0 + timedelta(seconds=5), ended_at=T0 + timedelta(seconds=65),
        state="ended", outcome="CONNECTED", talk_s=58.5, plan_snapshot={"dial_timeout_s": 30},
    )
    b = insert_call(
        live_api.sessions, one["id"], contact_id=contacts[1]["id"], originated_at=T0 + timedelta(hours=1),
        ended_at=T0 + timedelta(hours=1, seconds=3), state="ended", outcome="BUSY", detail='said "no", then, hung up',
    )
    c = insert_call(live_api.sessions, two["id"], originated_at=T0 + timedelta(hours=2), state="ringing")
    return {"one": one, "two": two, "a": a, "b": b, "c": c, "agent": agent_id, "contact": contacts[0]["id"]}


def _ids(response: httpx.Response) -> list[str]:
    return [c["id"] for c in ok(response)["items"]]


class TestListCalls:
    def test_all_oldest_first(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        assert _ids(viewer.get("/calls")) == [calls["a"], calls["b"], calls["c"]]

    def test_filters(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        assert _ids(viewer.get("/calls", params={"campaign_id": calls["two"]["id"]})) == [calls["c"]]
        assert _ids(viewer.get("/calls", params={"contact_id": calls["contact"]})) == [calls["a"]]
        assert _ids(viewer.get("/calls", params={"outcome": "BUSY"})) == [calls["b"]]
        assert _ids(viewer.get("/calls", params={"agent_id": calls["agent"]})) == [calls["a"]]
        window = {"since": (T0 + timedelta(minutes=30)).isoformat(), "until": (T0 + timedelta(hours=2)).isoformat()}
        assert _ids(viewer.get("/calls", params=window)) == [calls["b"]]
        other_zone = {"since": "2026-03-02T09:30:00-05:00"}  # 14:30 UTC
        assert _ids(viewer.get("/calls", params=other_zone)) == [calls["b"], calls["c"]]

    def test_pages(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        page = ok(viewer.get("/calls", params={"limit": 2, "offset": 1}))
        assert [c["id"] for c in page["items"]] == [calls["b"], calls["c"]]
        assert page["total"] == 3 and not page["has_more"]

    def test_record_fields(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        record = ok(viewer.get("/calls", params={"outcome": "CONNECTED"}))["items"][0]
        assert record["originated_at"].startswith("2026-03-02T14:00:00") and record["talk_s"] == 58.5
        assert "plan_snapshot" not in record

    @pytest.mark.parametrize(
        "params",
        [{"since": "2026-03-02T14:00:00"}, {"until": "yesterday"}, {"outcome": "MAYBE"}, {"campaign_id": "a b"}, {"limit": 0}],
    )
    def test_bad_filters(self, viewer: httpx.Client, calls: dict[str, Any], params: dict[str, str]) -> None:
        body = error(viewer.get("/calls", params=params), 422)
        assert body["errors"][0]["location"] == "query" and body["errors"][0]["field"] == next(iter(params))


class TestReadCall:
    def test_has_the_plan_snapshot(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        record = ok(viewer.get(f"/calls/{calls['a']}"))
        assert record["plan_snapshot"] == {"dial_timeout_s": 30} and record["agents_no_answer"] == []

    @pytest.mark.parametrize("call_id", ["call_01J0000000000000000000000Z", "x", "%00"])
    def test_unknown(self, viewer: httpx.Client, call_id: str) -> None:
        error(viewer.get(f"/calls/{call_id}"), 404)


class TestCallsCsv:
    def test_every_match_as_csv(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        response = viewer.get("/calls.csv", params={"campaign_id": calls["one"]["id"]})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["id"] for r in rows] == [calls["a"], calls["b"]]
        assert rows[0]["outcome"] == "CONNECTED" and rows[0]["talk_s"] == "58.5"
        assert datetime.fromisoformat(rows[0]["originated_at"].replace("Z", "+00:00")) == T0
        assert rows[1]["detail"] == 'said "no", then, hung up' and rows[1]["agent_id"] == ""

    def test_header_only_when_nothing_matches(self, viewer: httpx.Client, calls: dict[str, Any]) -> None:
        response = viewer.get("/calls.csv", params={"outcome": "MACHINE"})
        assert response.text.splitlines()[0].startswith("id,campaign_id,") and len(response.text.splitlines()) == 1

    def test_many_rows_stream_in_chunks(self, viewer: httpx.Client, admin: httpx.Client, live_api: LiveApi) -> None:
        from olive.ids import new_id
        from olive.store import Call, transaction

        campaign = make_campaign(admin)
        with transaction(live_api.sessions) as session:
            session.add_all(
                Call(id=new_id("call"), campaign_id=campaign["id"], number="+12015550100", originated_at=T0)
                for _ in range(2100)
            )
        rows = list(csv.DictReader(io.StringIO(viewer.get("/calls.csv").text)))
        assert len(rows) == 2100 and len({r["id"] for r in rows}) == 2100

    def test_bad_filter_and_no_key(self, viewer: httpx.Client, anon: httpx.Client) -> None:
        error(viewer.get("/calls.csv", params={"since": "soon"}), 422)
        error(anon.get("/calls.csv"), 401)


class TestRepeatedParameters:
    def test_a_scalar_given_twice_is_refused(self, viewer: httpx.Client) -> None:
        for path in ("/calls", "/calls.csv", "/plans"):
            body = error(viewer.get(path, params=[("limit", "5"), ("limit", "6")]), 422)
            assert body["errors"] == [
                {"location": "query", "field": "limit", "reason": "given more than once; give it once", "row": None}
            ]

    def test_a_list_parameter_may_repeat(self, viewer: httpx.Client) -> None:
        response = viewer.get("/events", params=[("kind", "call"), ("kind", "agent"), ("timeout_s", "0.1")])
        assert response.status_code == 200

    def test_the_key_is_checked_first(self, anon: httpx.Client) -> None:
        error(anon.get("/calls", params=[("limit", "5"), ("limit", "6")]), 401)
