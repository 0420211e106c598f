"""olive.ami's public surface is exactly its ``__all__`` (httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import olive.ami


def test_all_imports_are_exported() -> None:
    public = {name for name in vars(olive.ami) if not name.startswith("_")}
    assert set(olive.ami.__all__) == public
    assert len(olive.ami.__all__) == len(set(olive.ami.__all__))


def test_every_export_is_defined_in_a_private_module() -> None:
    for name in olive.ami.__all__:
        member = getattr(olive.ami, name)
        module = getattr(member, "__module__", None)
        if module is not None and isinstance(member, type | type(lambda: None)):
            assert module.startswith("olive.ami._"), (name, module)
