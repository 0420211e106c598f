"""``olive.store`` re-exports an explicit, complete public API from private modules."""

from __future__ import annotations

import importlib
import pkgutil

import olive.store


def test_all_names_exist_and_are_public() -> None:
    for name in olive.store.__all__:
        assert not name.startswith("_"), name
        assert hasattr(olive.store, name), name
    assert len(set(olive.store.__all__)) == len(olive.store.__all__)


def test_modules_are_private_and_declare_all() -> None:
    for info in pkgutil.iter_modules(olive.store.__path__):
        if info.name == "migrations":
            continue
        assert info.name.startswith("_"), f"olive.store.{info.name} should be private"
        module = importlib.import_module(f"olive.store.{info.name}")
        assert isinstance(getattr(module, "__all__", None), list), info.name


def test_public_classes_are_exported() -> None:
    exported = set(olive.store.__all__)
    for info in pkgutil.iter_modules(olive.store.__path__):
        if info.name == "migrations":
            continue
        module = importlib.import_module(f"olive.store.{info.name}")
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and getattr(obj, "__module__", "") == module.__name__:
                assert name in exported, f"{module.__name__}.{name} is not re-exported"
