"""Every public package re-exports exactly its ``__all__`` (as httpx tests it)."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["olive.sim.bench"])
def test_all_is_exported_and_public(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name), name
    public = {n for n in dir(module) if not n.startswith("_") and not isinstance(getattr(module, n), type(module))}
    assert public <= set(module.__all__) | {"annotations"}
