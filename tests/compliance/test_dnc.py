"""Do-not-call: E.164 normalisation, CSV reading, importing, matching and recording."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from olive.compliance import DncImportRefused, import_dnc, normalize_dnc, parse_dnc_csv
from olive.store import DncCheck, DncNumber, DncRepository
from support.fuzzing import examples

from .conftest import NOON_NY, Builder


class TestNormalize:
    @pytest.mark.parametrize(
        ("raw", "region", "expected"),
        [
            ("(212) 555-0100", "US", "+12125550100"),
            ("212.555.0100", "US", "+12125550100"),
            ("+1 212 555 0100", "GB", "+12125550100"),
            ("12125550100", "US", "+12125550100"),
            ("020 7946 0000", "GB", "+442079460000"),
            ("+44 (0)20 7946 0000", "US", "+442079460000"),
            ("  2125550100  ", "US", "+12125550100"),
        ],
    )
    def test_to_e164(self, raw: str, region: str, expected: str) -> None:
        assert normalize_dnc(raw, region) == expected

    def test_a_possible_number_the_metadata_does_not_know_is_kept(self) -> None:
        # +1 555 numbers are not "valid", but a DNC entry must never be dropped for that.
        assert normalize_dnc("555-123-0001", "US") == "+15551230001"

    @pytest.mark.parametrize("raw", ["", "   ", "hello", "12", "+1 212\n555 0100", "+99912345"])
    def test_refused(self, raw: str) -> None:
        with pytest.raises(ValueError):
            normalize_dnc(raw, "US")


class TestParseCsv:
    def test_with_a_header(self) -> None:
        entries, errors = parse_dnc_csv("name,number,note\nann,(212) 555-0100,asked\nbob,212 555 0101,\n")
        assert [(e.line, e.number, e.note) for e in entries] == [(2, "+12125550100", "asked"), (3, "+12125550101", None)]
        assert errors == []

    def test_one_number_per_line(self) -> None:
        entries, _ = parse_dnc_csv("2125550100\n\n+442079460000\n")
        assert [e.number for e in entries] == ["+12125550100", "+442079460000"]

    def test_national_registry_area_code_and_number(self) -> None:
        entries, _ = parse_dnc_csv("212,5550100\n646,5550199\n")
        assert [e.number for e in entries] == ["+12125550100", "+16465550199"]

    def test_bad_rows_refuse_the_file_naming_each_line(self) -> None:
        with pytest.raises(DncImportRefused) as refused:
            parse_dnc_csv("number\n2125550100\nnope\n12\n")
        assert [(e.line, e.field) for e in refused.value.errors] == [(3, "number"), (4, "number")]
        assert "nothing imported" in str(refused.value)

    @pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
    def test_any_line_ending(self, newline: str) -> None:
        # Old Mac and Excel exports end lines with a bare CR (issue 13: the API answered 500).
        text = newline.join(["number,note", "(212) 555-0100,asked", '212 555 0101,"two' + newline + 'lines"', ""])
        entries, _ = parse_dnc_csv(text)
        assert [(e.line, e.number) for e in entries] == [(2, "+12125550100"), (3, "+12125550101")]
        assert entries[1].note == "two" + newline + "lines"

    def test_a_bare_cr_in_one_number_per_line(self) -> None:
        with pytest.raises(DncImportRefused) as refused:
            parse_dnc_csv("a\rb")
        assert [(e.line, e.field) for e in refused.value.errors] == [(1, "number"), (2, "number")]

    @settings(max_examples=examples(60), deadline=None)
    @given(st.text(max_size=200))
    def test_any_text_is_read_or_refused(self, text: str) -> None:
        try:
            entries, _ = parse_dnc_csv(text)
        except DncImportRefused as refused:
            assert refused.errors
            return
        assert all(e.number.startswith("+") for e in entries)

    def test_or_are_skipped_and_reported(self) -> None:
        entries, errors = parse_dnc_csv("number\n2125550100\nnope\n", skip_invalid=True)
        assert [e.number for e in entries] == ["+12125550100"]
        assert [e.line for e in errors] == [3]


class TestImport:
    def test_global_and_per_campaign_lists(self, session: Session, build: Builder) -> None:
        campaign = build.campaign()
        entries, _ = parse_dnc_csv("2125550100\n2125550100\n2125550101\n")
        report = import_dnc(session, entries, source="test")
        assert (report.read, report.added, report.already) == (3, 2, 1)
        again = import_dnc(session, entries)
        assert (again.added, again.already) == (0, 3)
        scoped = import_dnc(session, entries[:1], campaign_id=campaign.id)
        assert scoped.added == 1
        rows = session.scalars(select(DncNumber)).all()
        assert sorted((r.number, r.campaign_id or "") for r in rows) == [
            ("+12125550100", ""),
            ("+12125550100", campaign.id),
            ("+12125550101", ""),
        ]

    def test_matching_and_every_check_recorded(self, session: Session, build: Builder) -> None:
        campaign, other = build.campaign(), build.campaign()
        import_dnc(session, parse_dnc_csv("2125550100\n")[0], campaign_id=campaign.id)
        repo = DncRepository(session)
        assert repo.match("+12125550100", campaign.id) is not None
        assert repo.match("+12125550100", other.id) is None
        blocked = repo.check("+12125550100", campaign_id=campaign.id, now=NOON_NY)
        clear = repo.check("+12125550100", campaign_id=other.id, now=NOON_NY)
        assert (blocked.result, blocked.matched_list) == ("blocked", campaign.id)
        assert (clear.result, clear.matched_list) == ("clear", None)
        assert session.scalar(select(DncCheck.id).where(DncCheck.id == blocked.id)) is not None
