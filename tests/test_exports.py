"""Every package of olive exports exactly what its ``__all__`` says (as httpx tests it):
each name exists, is public and listed once; no public name leaks besides; each private
module that declares ``__all__`` holds what it lists. One test over every package (it
replaces six near-identical per-package copies)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import olive

#: Packages and their subpackages, as dotted names (every one with an ``__init__.py``).
PACKAGES = sorted(
    info.name for info in pkgutil.walk_packages(olive.__path__, "olive.") if info.ispkg and "migrations" not in info.name
)
#: Modules imported lazily on first use (olive.sim keeps its server modules out of ``import olive.sim``).
LAZY = {"olive.sim"}


def _modules(package: str) -> list[str]:
    module = importlib.import_module(package)
    return [f"{package}.{info.name}" for info in pkgutil.iter_modules(module.__path__) if not info.ispkg]


def test_every_package_is_covered() -> None:
    assert {"olive.ami", "olive.api", "olive.calls", "olive.compliance", "olive.engine", "olive.store"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_names_exist_are_public_and_listed_once(package: str) -> None:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert isinstance(names, list), f"{package} has no __all__"
    assert len(names) == len(set(names)), f"{package}.__all__ lists a name twice"
    for name in names:
        assert not name.startswith("_"), f"{package}.__all__ lists private {name}"
        assert getattr(module, name, None) is not None, f"{package}.{name} does not exist"


@pytest.mark.parametrize("package", sorted(set(PACKAGES) - LAZY))
def test_nothing_public_leaks(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public - set(module.__all__) == set(), f"{package} has public names outside __all__"


@pytest.mark.parametrize("package", PACKAGES)
def test_private_modules_hold_what_they_list(package: str) -> None:
    for name in _modules(package):
        if not name.rpartition(".")[2].startswith("_") or name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for listed in getattr(module, "__all__", []):
            assert hasattr(module, listed), f"{name}.{listed}"


#: Packages whose private modules do not all declare ``__all__`` yet.
NO_MODULE_ALL = {"olive", "olive.ami", "olive.calls", "olive.cli", "olive.pacing", "olive.bench"}
#: Where public module names are the layout: top-level units, the API's resource packages
#: (endpoints, schemas, service, ...) and the CLI's commands.
PUBLIC_MODULES_ALLOWED = ("olive", "olive.cli")


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_are_private(package: str) -> None:
    if package in PUBLIC_MODULES_ALLOWED or package.startswith("olive.api._"):
        return
    public = [name for name in _modules(package) if not name.rpartition(".")[2].startswith("_")]
    assert public == [], f"make them private (a leading _) and export from {package}"


@pytest.mark.parametrize("package", sorted(set(PACKAGES) - NO_MODULE_ALL))
def test_private_modules_declare_all(package: str) -> None:
    for name in _modules(package):
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"


#: The API's and the engine's private modules hold classes of their own (admission, the brake).
INTERNAL_CLASSES = {"olive.api", "olive.engine"}


@pytest.mark.parametrize("package", sorted(set(PACKAGES) - NO_MODULE_ALL - LAZY - INTERNAL_CLASSES))
def test_public_classes_of_private_modules_are_exported(package: str) -> None:
    exported = set(importlib.import_module(package).__all__)
    for name in _modules(package):
        if not name.rpartition(".")[2].startswith("_") or name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for listed in module.__all__:
            obj = getattr(module, listed)
            if isinstance(obj, type) and obj.__module__ == name:
                assert listed in exported, f"{name}.{listed} is not exported by {package}"
