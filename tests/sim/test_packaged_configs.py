"""The simulator's built-in ``@olive`` configs are the ones docs/asterisk ships to users."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["extensions", "queues"])
def test_packaged_copy_is_the_documented_config(kind: str) -> None:
    packaged = ROOT / "src" / "olive" / "sim" / "scenarios" / f"olive.{kind}.conf"
    documented = ROOT / "docs" / "asterisk" / f"{kind}.conf"
    assert packaged.read_text() == documented.read_text(), f"copy {documented} to {packaged}"
