"""Control characters other than CR/LF, and phone numbers with extensions (issue 10).

ESC, VT, FF, DEL, TAB, NEL (U+0085), U+2028/U+2029 and the invisible format
characters (bidi overrides, zero-width) are refused wherever CR/LF are: the
caller ID, channel template and interface (campaign files and the API), CSV
and JSON imports, and the AMI writer as the last line. A number with an
extension is refused with a clear error, never silently shortened.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from olive.ami import AMIValueError, check_header
from olive.campaign_file import CampaignFileError, load
from olive.compliance import normalize_dnc
from olive.contacts_import import ImportRefused, parse_csv, parse_json
from olive.controls import find_control
from olive.phone import InvalidNumber, normalize
from olive.specs import AgentSpec, PlanSpec

CONTROLS = {
    "ESC": "\x1b",
    "VT": "\x0b",
    "FF": "\x0c",
    "DEL": "\x7f",
    "TAB": "\t",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "RIGHT-TO-LEFT OVERRIDE": "\u202e",
    "ZERO WIDTH SPACE": "\u200b",
    "BOM": "\ufeff",
    "C1 CSI": "\x9b",
}
BAD = pytest.mark.parametrize("bad", list(CONTROLS.values()), ids=list(CONTROLS))


class TestFindControl:
    @BAD
    def test_found_and_named(self, bad: str) -> None:
        found = find_control(f"ok{bad}ok")
        assert found is not None and f"U+{ord(bad):04X}" in found

    @pytest.mark.parametrize("good", ["Zoë Ångström", "+1 (202) 555-0142", "日本語", "emoji 📞", ""])
    def test_ordinary_text_passes(self, good: str) -> None:
        assert find_control(good) is None


class TestSpecs:
    @BAD
    def test_caller_id(self, bad: str) -> None:
        with pytest.raises(ValidationError) as err:
            PlanSpec(channel_template="PJSIP/{number}@trunk", caller_id=f'"Olive{bad}" <2025550100>')
        assert err.value.errors()[0]["loc"] == ("caller_id",)

    @BAD
    def test_channel_template(self, bad: str) -> None:
        with pytest.raises(ValidationError) as err:
            PlanSpec(channel_template=f"PJSIP/{{number}}@trunk{bad}")
        assert err.value.errors()[0]["loc"] == ("channel_template",)

    @BAD
    def test_interface(self, bad: str) -> None:
        with pytest.raises(ValidationError):
            AgentSpec(name="a", interface=f"PJSIP/101{bad}")


class TestAmiWriter:
    @BAD
    def test_refused_at_the_edge(self, bad: str) -> None:
        with pytest.raises(AMIValueError, match="control character"):
            check_header("CallerID", f"Olive{bad}")


class TestImport:
    @BAD
    def test_csv(self, bad: str) -> None:
        with pytest.raises(ImportRefused) as err:
            parse_csv(f"phone,name,policy\n2025550142,Ann{bad},P-1\n2025550143,Bob,P{bad}2\n", "US")
        assert [(e.line, e.field) for e in err.value.errors] == [(2, "name"), (3, "policy")]
        assert all("control character" in e.reason for e in err.value.errors)

    @BAD
    def test_json(self, bad: str) -> None:
        rows = json.loads(json.dumps([{"phone": "2025550142", "external_ref": f"r{bad}1", "variables": {"policy": f"P{bad}"}}]))
        with pytest.raises(ImportRefused) as err:
            parse_json(rows, "US")
        assert {e.field for e in err.value.errors} >= {"external_ref"}
        assert all("control character" in e.reason for e in err.value.errors)

    @BAD
    def test_phone_numbers(self, bad: str) -> None:
        with pytest.raises(InvalidNumber, match="control character"):
            normalize(f"202555{bad}0142")
        with pytest.raises(ValueError, match="control character"):
            normalize_dnc(f"202555{bad}0142")


class TestExtensions:
    @pytest.mark.parametrize(
        "raw", ["+1 202 555 0142 x99", "(202) 555-0142 ext. 99", "+12025550142;ext=5", "tel:+1-202-555-0142;ext=5", "202-555-0142 #99"]
    )
    def test_a_number_with_an_extension_is_refused_not_shortened(self, raw: str) -> None:
        with pytest.raises(InvalidNumber, match="extension"):
            normalize(raw)

    def test_in_a_csv_import(self) -> None:
        with pytest.raises(ImportRefused) as err:
            parse_csv("phone\n2025550142\n+1 202 555 0143 x12\n", "US")
        (e,) = err.value.errors
        assert (e.line, e.field) == (3, "phone") and "extension 12" in e.reason

    def test_a_plain_number_still_passes(self) -> None:
        assert normalize("(202) 555-0142") == "+12025550142"


class TestCampaignFile:
    @pytest.mark.parametrize(("escaped", "named"), [("\\u001b", "U+001B (ESC)"), ("\\t", "U+0009 (TAB)"), ("\\u2028", "U+2028")])
    def test_caller_id_is_refused_naming_the_character(self, tmp_path: Path, escaped: str, named: str) -> None:
        (tmp_path / "contacts.csv").write_text("phone\n2025550142\n")
        path = tmp_path / "campaign.toml"
        path.write_text(f"""
[asterisk]
port = 5038
secret_env = "X"

[campaign]
name = "c"
queue = "q"
compliance_profile = "none"

[plan]
dial_timeout_s = 20
channel_template = "PJSIP/{{number}}@trunk"
caller_id = "Olive{escaped} <2025550100>"

[[agents]]
name = "ann"
interface = "PJSIP/101"

[contacts]
csv = "contacts.csv"
""")
        with pytest.raises(CampaignFileError) as err:
            load(path)
        assert f"plan.caller_id: contains a control character: {named}" in str(err.value)
