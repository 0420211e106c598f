"""olive.api exports what it says; every module is private (or inside a private
resource package) and declares ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import olive.api

RESOURCE_MODULES = {"endpoints", "schemas", "service", "control", "rows"}
CLI_MODULES = ("serve", "apikey", "campaign", "contacts", "events", "_api_client", "_campaign_files")


def test_package_exports() -> None:
    names = olive.api.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert hasattr(olive.api, name), name


def test_modules_are_private_and_declare_all() -> None:
    for info in pkgutil.walk_packages(olive.api.__path__, "olive.api."):
        parts = info.name.split(".")[2:]
        assert parts[0].startswith("_"), info.name
        if len(parts) > 1:
            assert parts[-1] in RESOURCE_MODULES, info.name
        module = importlib.import_module(info.name)
        assert isinstance(module.__all__, list), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_resource_packages_follow_the_layout() -> None:
    for info in pkgutil.iter_modules(olive.api.__path__):
        if info.ispkg:
            package = importlib.import_module(f"olive.api.{info.name}")
            assert package.__all__ == ["router"], info.name
            for part in ("endpoints", "schemas", "service"):
                importlib.import_module(f"olive.api.{info.name}.{part}")


def test_cli_modules_declare_all() -> None:
    for name in CLI_MODULES:
        module = importlib.import_module(f"olive.cli.{name}")
        assert isinstance(module.__all__, list) and all(hasattr(module, n) for n in module.__all__), name
