"""olive why, olive export and olive dnc, on an SQLite file."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from olive.cli import app
from olive.store import (
    Campaign,
    DncNumber,
    from_epoch,
    make_engine,
    make_sessionmaker,
    migrate,
    transaction,
)

from .conftest import NOON_NY, Builder

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'olive.db'}"
    migrate(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as s:
        build = Builder(s)
        campaign = build.campaign(agents=[build.agent()], drop_action="message", drop_message="olive/safe-harbour")
        contact = build.contact(campaign, external_ref="crm-1")
        build.call(campaign, contact, outcome="ABANDONED", abandon_reason="timeout", ended_at=from_epoch(NOON_NY - 3600),
                   customer_wait_s=2.0, drop_message_played=True, plan_snapshot=campaign.plan.snapshot())
        ids = {"campaign": campaign.name, "contact": contact.id}
    yield url, ids
    engine.dispose()


def run(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", url])
    return result.exit_code, result.output


class TestWhy:
    def test_by_id_external_ref_or_number(self, db: tuple[str, dict[str, str]]) -> None:
        url, ids = db
        for key in (ids["contact"], "crm-1", "(212) 555-0100"):
            code, out = run(url, "why", key, "--at", "2026-01-15T17:00:00Z")
            assert code == 0, out
            assert "will be dialed" in out and "America/New_York" in out

    def test_after_hours_with_json(self, db: tuple[str, dict[str, str]]) -> None:
        url, ids = db
        code, out = run(url, "why", ids["contact"], "--format", "json", "--at", "2026-01-16T02:30:00Z")
        assert code == 0
        data = json.loads(out)
        assert data["dial_now"] is False
        assert [r["code"] for r in data["reasons"]] == ["outside_hours"]
        assert data["eligible_at"] == "2026-01-16T13:00:00Z"

    def test_a_campaign(self, db: tuple[str, dict[str, str]]) -> None:
        url, ids = db
        code, out = run(url, "why", "--campaign", ids["campaign"], "--at", "2026-01-16T02:30:00Z")
        assert code == 0
        assert "dials nothing now" in out and "outside_hours" in out

    def test_unknown(self, db: tuple[str, dict[str, str]]) -> None:
        url, _ = db
        assert run(url, "why", "nobody")[0] == 1
        assert run(url, "why")[0] == 2
        assert run(url, "why", "crm-1", "--at", "2026-01-16T02:30:00")[0] == 2  # no time zone


class TestExport:
    def test_attempts_to_stdout(self, db: tuple[str, dict[str, str]]) -> None:
        url, ids = db
        code, out = run(url, "export", "attempts", "--campaign", ids["campaign"])
        assert code == 0, out
        [row] = list(csv.DictReader(io.StringIO(out)))
        assert (row["outcome"], row["abandon_reason"], row["drop_message"], row["drop_message_played"]) == (
            "ABANDONED", "timeout", "olive/safe-harbour", "true",
        )

    def test_abandons_to_a_file(self, db: tuple[str, dict[str, str]], tmp_path: Path) -> None:
        url, _ = db
        target = tmp_path / "abandons.csv"
        code, out = run(url, "export", "abandons", "--output", str(target))
        assert code == 0 and "row(s) written" in out
        rows = list(csv.DictReader(target.open()))
        assert rows[0]["window"] == "campaign_to_date" and rows[0]["abandoned"] == "1"

    def test_bad_time(self, db: tuple[str, dict[str, str]]) -> None:
        url, _ = db
        assert run(url, "export", "attempts", "--since", "yesterday")[0] == 2


class TestCalls:
    def test_times_in_one_format_and_durations_rounded(self, db: tuple[str, dict[str, str]]) -> None:
        # issue 13: times printed with "T", " " or "Z"; durations with 16 decimals.
        url, ids = db
        with transaction(make_sessionmaker(make_engine(url))) as s:
            build = Builder(s)
            campaign = s.scalars(select(Campaign).where(Campaign.name == ids["campaign"])).one()
            build.call(campaign, None, outcome="CONNECTED", ended_at=from_epoch(NOON_NY), talk_s=2.4899999999999998,
                       customer_wait_s=0.30000000000000004)
        for fmt in ("jsonl", "csv", "table"):
            code, out = run(url, "calls", "-c", ids["campaign"], "-f", fmt)
            assert code == 0, out
            assert "2.4899999" not in out and "0.3000000" not in out, fmt
            stamps = re.findall(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[^\s,\"│]*", out)
            assert all("T" in t and t.endswith("Z") for t in stamps), (fmt, stamps)
            assert stamps or fmt == "table", fmt


class TestDnc:
    def test_import_add_check_remove(self, db: tuple[str, dict[str, str]], tmp_path: Path) -> None:
        url, ids = db
        good = tmp_path / "dnc.csv"
        good.write_text("number,note\n(212) 555-0100,asked\n212-555-0101,\n")
        code, out = run(url, "dnc", "import", str(good))
        assert code == 0 and "2 number(s) added to the global list" in out
        code, out = run(url, "dnc", "import", str(good), "--campaign", ids["campaign"])
        assert code == 0 and f"added to campaign {ids['campaign']}" in out
        assert run(url, "dnc", "check", "2125550100")[0] == 0
        assert run(url, "dnc", "add", "+442079460000", "--note", "by phone")[0] == 0
        assert run(url, "dnc", "remove", "2125550101")[0] == 0
        assert run(url, "dnc", "check", "2125550101")[0] == 1
        with transaction(make_sessionmaker(make_engine(url))) as s:
            numbers = sorted((n.number, n.campaign_id is None) for n in s.scalars(select(DncNumber)))
        assert numbers == [("+12125550100", False), ("+12125550100", True), ("+12125550101", False), ("+442079460000", True)]
        # The contact is now explained as DNC.
        code, out = run(url, "why", "crm-1", "--at", "2026-01-15T17:00:00Z")
        assert "dnc" in out

    def test_import_reads_the_file_as_the_api_does(self, db: tuple[str, dict[str, str]], tmp_path: Path) -> None:
        url, _ = db
        mac = tmp_path / "mac.csv"
        mac.write_bytes(b"number,note\r2125550100,\"two\r\nlines\"\r")
        code, out = run(url, "dnc", "import", str(mac))
        assert code == 0 and "1 number(s) added" in out
        with transaction(make_sessionmaker(make_engine(url))) as s:
            assert [n.note for n in s.scalars(select(DncNumber))] == ["two\r\nlines"]
        latin1 = tmp_path / "latin1.csv"
        latin1.write_bytes("number,note\n2125550101,Jos\xe9\n".encode("latin-1"))
        code, out = run(url, "dnc", "import", str(latin1))
        assert code == 1 and "not UTF-8" in " ".join(out.split()) and "Traceback" not in out

    def test_rows_that_look_like_markup_are_shown_as_written(self, db: tuple[str, dict[str, str]], tmp_path: Path) -> None:
        url, _ = db
        bad = tmp_path / "bad.csv"
        bad.write_text("number\n[/b]\n")
        code, out = run(url, "dnc", "import", str(bad))
        assert code == 1 and "[/b]" in out

    def test_a_bad_file_imports_nothing(self, db: tuple[str, dict[str, str]], tmp_path: Path) -> None:
        url, _ = db
        bad = tmp_path / "bad.csv"
        bad.write_text("number\n2125550100\nnot a number\n")
        code, out = run(url, "dnc", "import", str(bad))
        assert code == 1 and "line 3" in out
        code, out = run(url, "dnc", "import", str(bad), "--skip-invalid")
        assert code == 0 and "1 number(s) added" in out and "skipped" in out
