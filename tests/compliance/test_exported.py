"""olive.compliance exports what it says, from private modules only."""

from __future__ import annotations

import importlib
import pkgutil

import olive.compliance


def test_all_names_exist_and_are_sorted() -> None:
    names = olive.compliance.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(olive.compliance, name), name


def test_modules_are_private_and_declare_all() -> None:
    for info in pkgutil.iter_modules(olive.compliance.__path__):
        assert info.name.startswith("_"), info.name
        module = importlib.import_module(f"olive.compliance.{info.name}")
        assert isinstance(module.__all__, list), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"
