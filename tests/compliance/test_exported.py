"""olive.compliance lists its exports in order (tests/test_exports.py checks every package's exports)."""

from __future__ import annotations

import olive.compliance


def test_all_names_exist_and_are_sorted() -> None:
    names = olive.compliance.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(olive.compliance, name), name
