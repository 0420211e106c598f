"""The CLI commands that drive ``olive serve`` over HTTP: campaign, contacts, events."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from olive.cli import app

from .conftest import Keys, LiveApi
from .helpers import NUMBERS, make_campaign, make_list, ok

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _olive(live_api: LiveApi, key: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"OLIVE_API_URL": live_api.url, "OLIVE_API_KEY": key}).invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def campaign_file(tmp_path: Path) -> Path:
    for name in ("campaign.toml", "contacts.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path / "campaign.toml"


class TestCampaignCreate:
    def test_from_the_example_file(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, campaign_file: Path) -> None:
        code, out, err = _olive(live_api, keys.admin, "campaign", "create", str(campaign_file))
        assert code == 0, err
        campaign = ok(admin.get(f"/campaigns/{out.strip()}"))
        assert campaign["name"] == "spring-renewals" and campaign["status"] == "stopped"
        assert len(campaign["agent_ids"]) == 2 and campaign["queue"] == "olive-sales"
        plan = ok(admin.get(f"/plans/{campaign['plan_id']}"))
        assert plan["dial_timeout_s"] == 25 and plan["drop_message"] == "custom/acme-safe-harbour"
        dial_list = ok(admin.get(f"/dial-lists/{campaign['dial_list_ids'][0]}"))
        assert dial_list["contact_count"] == sum(1 for _ in (EXAMPLES / "contacts.csv").open()) - 1
        code, _, err = _olive(live_api, keys.admin, "campaign", "create", str(campaign_file))
        assert code == 1 and "already exists" in err

    def test_create_and_start(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, campaign_file: Path) -> None:
        code, out, err = _olive(live_api, keys.admin, "campaign", "create", str(campaign_file), "--start")
        assert code == 0, err
        campaign = ok(admin.get(f"/campaigns/{out.strip()}"))
        assert campaign["status"] == "running"
        assert all(ok(admin.get(f"/agents/{a}"))["state"] == "ready" for a in campaign["agent_ids"])

    def test_bad_file_changes_nothing(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, campaign_file: Path) -> None:
        (campaign_file.parent / "contacts.csv").write_text("phone,name\n12,Short\n")
        code, _, err = _olive(live_api, keys.admin, "campaign", "create", str(campaign_file))
        assert code == 2 and "line 2" in err
        assert ok(admin.get("/plans"))["total"] == 0 and ok(admin.get("/dial-lists"))["total"] == 0

    def test_after_a_failed_attempt(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, campaign_file: Path) -> None:
        make_list(admin, name="spring-renewals")  # an earlier attempt got this far
        ok(admin.post("/agents", json={"name": "someone-else", "interface": "PJSIP/101"}), 201)
        code, _, err = _olive(live_api, keys.admin, "campaign", "create", str(campaign_file))
        assert code == 1 and "interface" in err  # alice's device belongs to another agent
        ok(admin.patch(f"/agents/{ok(admin.get('/agents', params={'name': 'someone-else'}))['items'][0]['id']}", json={"interface": "PJSIP/199"}))
        code, out, err = _olive(live_api, keys.admin, "campaign", "create", str(campaign_file))
        assert code == 0, err
        campaign = ok(admin.get(f"/campaigns/{out.strip()}"))
        assert ok(admin.get(f"/dial-lists/{campaign['dial_list_ids'][0]}"))["contact_count"] == 3
        assert ok(admin.get("/dial-lists"))["total"] == 1

    def test_viewer_key_is_refused(self, live_api: LiveApi, keys: Keys, campaign_file: Path) -> None:
        code, _, err = _olive(live_api, keys.viewer, "campaign", "create", str(campaign_file))
        assert code == 1 and "admin" in err


class TestCampaignVerbs:
    def test_start_pause_resume_stop_stats(self, live_api: LiveApi, keys: Keys, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        name = campaign["name"]
        for verb, status in (("start", "running"), ("pause", "paused"), ("resume", "running")):
            code, _, err = _olive(live_api, keys.admin, "campaign", verb, name)
            assert code == 0 and f"{name}: {status}" in err, err
        code, out, err = _olive(live_api, keys.viewer, "campaign", "stats", campaign["id"], "--json")
        assert code == 0, err
        assert json.loads(out)["status"] == "running"
        code, out, _ = _olive(live_api, keys.viewer, "campaign", "stats", name)
        assert code == 0 and "contacts remaining" in out and "abandon rate (30d)" in out
        code, _, err = _olive(live_api, keys.admin, "campaign", "stop", name, "--force")
        assert code == 0 and "stopped; 0 call(s) hung up" in err
        code, out, _ = _olive(live_api, keys.viewer, "campaign", "list")
        assert code == 0 and campaign["id"] in out

    def test_errors(self, live_api: LiveApi, keys: Keys, admin: httpx.Client) -> None:
        campaign = make_campaign(admin, agents=0)
        code, _, err = _olive(live_api, keys.admin, "campaign", "start", campaign["name"])
        assert code == 1 and "no agents" in err and "agents:" in err
        code, _, err = _olive(live_api, keys.admin, "campaign", "pause", "no-such-campaign")
        assert code == 1 and "no campaign named" in err
        code, _, err = _olive(live_api, "olive_wrong-key-00000000", "campaign", "list")
        assert code == 1 and "not valid" in err

    def test_needs_a_key_and_a_server(self, live_api: LiveApi) -> None:
        result = CliRunner(env={"OLIVE_API_URL": live_api.url, "OLIVE_API_KEY": ""}).invoke(app, ["campaign", "list"])
        assert result.exit_code == 2 and "OLIVE_API_KEY" in result.stderr
        result = CliRunner(env={"OLIVE_API_KEY": "olive_x"}).invoke(
            app, ["campaign", "list", "--api-url", "http://127.0.0.1:9"]
        )
        assert result.exit_code == 2 and "cannot reach olive" in result.stderr


class TestContactsImport:
    def test_csv_and_json(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, tmp_path: Path) -> None:
        dial_list = make_list(admin)
        csv_file = tmp_path / "a.csv"
        csv_file.write_text(f"phone,name\n{NUMBERS[0]},Ada\n{NUMBERS[1]},Bob\n")
        code, _, err = _olive(live_api, keys.admin, "contacts", "import", dial_list["name"], str(csv_file))
        assert code == 0 and "Imported 2 contact(s)" in err, err
        json_file = tmp_path / "b.json"
        json_file.write_text(json.dumps([{"phones": [NUMBERS[2]]}]))
        code, _, err = _olive(live_api, keys.admin, "contacts", "import", dial_list["id"], str(json_file))
        assert code == 0 and "it now has 3" in err

    def test_a_big_file_is_sent_in_pieces(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, tmp_path: Path) -> None:
        # Sent in 256 KiB pieces behind a progress bar (issue 13); every row still arrives.
        dial_list = make_list(admin)
        big = tmp_path / "big.csv"
        rows = 12_000
        big.write_text("phone,name,note\n" + "".join(f"+1212{200 + n // 10000}{n % 10000:04d},Person {n},{'x' * 20}\n" for n in range(rows)))
        assert big.stat().st_size > 2 * 256 * 1024
        code, _, err = _olive(live_api, keys.admin, "contacts", "import", dial_list["name"], str(big))
        assert code == 0 and f"Imported {rows} contact(s)" in err, err

    def test_reports_every_bad_row(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, tmp_path: Path) -> None:
        dial_list = make_list(admin)
        bad = tmp_path / "bad.csv"
        bad.write_text(f"phone,timezone\n{NUMBERS[0]},Nowhere/City\n12,\n")
        code, _, err = _olive(live_api, keys.admin, "contacts", "import", dial_list["name"], str(bad))
        assert code == 1 and "nothing was imported" in err
        assert "row 2, timezone:" in err and "row 3, phone:" in err
        assert ok(admin.get(f"/dial-lists/{dial_list['id']}"))["contact_count"] == 0

    def test_create_the_list(self, live_api: LiveApi, keys: Keys, admin: httpx.Client, tmp_path: Path) -> None:
        csv_file = tmp_path / "uk.csv"
        csv_file.write_text("phone\n020 7946 0000\n")
        code, _, err = _olive(live_api, keys.admin, "contacts", "import", "uk-list", str(csv_file))
        assert code == 1 and "no dial list named" in err
        code, _, err = _olive(
            live_api, keys.admin, "contacts", "import", "uk-list", str(csv_file), "--create", "--region", "GB"
        )
        assert code == 0, err
        (made,) = ok(admin.get("/dial-lists", params={"name": "uk-list"}))["items"]
        contact = ok(admin.get(f"/dial-lists/{made['id']}/contacts"))["items"][0]
        assert contact["numbers"][0]["number"] == "+442079460000"


class TestEvents:
    def test_tails_until_the_limit(self, live_api: LiveApi, keys: Keys, admin: httpx.Client) -> None:
        campaign = make_campaign(admin)
        results: dict[str, Any] = {}

        def tail() -> None:
            results["out"] = _olive(live_api, keys.viewer, "events", "--campaign", campaign["name"], "--limit", "1", "--json")

        thread = threading.Thread(target=tail)
        thread.start()
        # Starting the campaign publishes its campaign event; retry until the tail has subscribed.
        while thread.is_alive():
            ok(admin.post(f"/campaigns/{campaign['id']}/pause" if _running(admin, campaign) else f"/campaigns/{campaign['id']}/start"))
            thread.join(0.2)
        code, out, err = results["out"]
        assert code == 0, err
        event = json.loads(out.splitlines()[0])
        assert event["kind"] == "campaign" and event["campaign_id"] == campaign["id"]

    def test_timeout_and_text_output(self, live_api: LiveApi, keys: Keys) -> None:
        code, out, _ = _olive(live_api, keys.viewer, "events", "--timeout", "0.2")
        assert code == 0 and out == ""

    def test_unknown_campaign(self, live_api: LiveApi, keys: Keys) -> None:
        code, _, err = _olive(live_api, keys.viewer, "events", "--campaign", "nope")
        assert code == 1 and "no campaign named" in err


def _running(client: httpx.Client, campaign: dict[str, Any]) -> bool:
    status: str = ok(client.get(f"/campaigns/{campaign['id']}"))["status"]
    return status == "running"
