"""Contacts from CSV or JSON: all or nothing, every bad row named by line and field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olive.contacts_import import ImportRefused, parse_csv, parse_json
from olive.phone import PRIVATE, InvalidNumber, normalize, private_number


class TestParseCsv:
    def test_numbers_in_order_normalised_and_variables(self) -> None:
        (row,) = parse_csv("phone,phone2,name,policy\n(202) 555-0142,+44 20 7946 0958,Ann,P-1\n", "US")
        assert row.numbers == ("+12025550142", "+442079460958")
        assert (row.name, dict(row.variables)) == ("Ann", {"policy": "P-1"})

    def test_phones_column_with_separators(self) -> None:
        (row,) = parse_csv("phones\n2025550142;2025550143|2025550142\n", "US")
        assert row.numbers == ("+12025550142", "+12025550143")  # duplicates once

    def test_every_bad_row_is_reported_and_nothing_imported(self) -> None:
        text = "phone,timezone,name\n2025550142,,ok\n123,,short\n2025550143,Mars/Base,tz\n2025550144,America,dir\n"
        with pytest.raises(ImportRefused) as err:
            parse_csv(text, "US")
        where = [(e.line, e.field) for e in err.value.errors]
        assert where == [(3, "phone"), (4, "timezone"), (5, "timezone")]
        assert "nothing imported" in str(err.value)

    def test_line_breaks_and_bad_variable_names(self) -> None:
        with pytest.raises(ImportRefused) as err:
            parse_csv('phone,name,2bad\n2025550142,"A\nB",x\n', "US")
        assert {e.field for e in err.value.errors} == {"name", "2bad"}

    @pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
    def test_any_line_ending(self, newline: str) -> None:
        text = newline.join(["phone,name", "2025550142,Ann", '2025550143,"B' + newline + 'C"', ""])
        with pytest.raises(ImportRefused) as err:  # a line break in a name is refused, by line
            parse_csv(text, "US")
        assert [(e.line, e.field) for e in err.value.errors] == [(4, "name")]
        rows = parse_csv(newline.join(["phone,name", "2025550142,Ann", "2025550143,Bob"]), "US")
        assert [r.numbers for r in rows] == [("+12025550142",), ("+12025550143",)]

    def test_duplicate_external_refs(self) -> None:
        with pytest.raises(ImportRefused) as err:
            parse_csv("phone,external_ref\n2025550142,A\n2025550143,A\n", "US")
        assert err.value.errors[0].reason == "duplicate of line 2"

    @pytest.mark.parametrize("text", ["", "name\nAnn\n", "phone,name\n2025550142,a,extra\n"])
    def test_structure_errors(self, text: str) -> None:
        with pytest.raises(ImportRefused):
            parse_csv(text, "US")

    def test_unreadable_csv_is_refused_not_crashed(self) -> None:
        with pytest.raises(ImportRefused):
            parse_csv("phone,name\n2025550142," + "x" * 200_000 + "\n", "US")

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=300))
    def test_any_text_is_parsed_or_refused(self, text: str) -> None:
        try:
            rows = parse_csv(text, "US")
        except ImportRefused:
            return
        for row in rows:
            assert all(n.startswith("+") for n in row.numbers)


class TestParseJson:
    def test_variables_object_and_numbers_list(self) -> None:
        (row,) = parse_json([{"phones": ["2025550142"], "variables": {"tier": "gold"}}], "US")
        assert row.numbers == ("+12025550142",) and dict(row.variables) == {"tier": "gold"}

    def test_rows_are_counted_from_one(self) -> None:
        with pytest.raises(ImportRefused) as err:
            parse_json([{"phone": "2025550142"}, {"phone": "nope"}], "US")
        assert err.value.errors[0].line == 2


class TestPrivateNumbering:
    """Issue 18: lab and internal numbers (1001) with a private numbering plan: no
    phone-number validation, but the character rules still hold."""

    def test_a_private_list_keeps_internal_numbers_as_written(self) -> None:
        (row,) = parse_csv("phone,phone2,name\n 1001 ,*43,Lab\n", PRIVATE)
        assert row.numbers == ("1001", "*43")

    def test_the_same_number_in_a_national_list_is_refused(self) -> None:
        with pytest.raises(ImportRefused) as err:
            parse_csv("phone\n1001\n", "US")
        assert "impossible number" in str(err.value)

    @pytest.mark.parametrize(
        "raw",
        ["10\r01", "10\n01", "1001\x00", "10\x0701", "1001\x7f", "100 1", "1001;x", "Local/1001", "1-001", "", "1" * 33],
    )
    def test_control_characters_and_anything_but_digits_star_hash_are_refused(self, raw: str) -> None:
        with pytest.raises(InvalidNumber):
            private_number(raw)

    def test_a_leading_plus_is_kept(self) -> None:
        assert private_number("+4412") == "+4412"
        assert normalize("1001", PRIVATE) == "1001"
