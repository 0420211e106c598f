"""Every command's --help reads well: no type beside flags, every option described, and
bracketed words in help texts shown, not swallowed as Rich markup (issue 13)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from olive.cli import app


def commands() -> list[tuple[list[str], Any]]:
    root = typer.main.get_command(app)
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk([*path, name], sub)

    walk([], root)
    return found


@pytest.mark.parametrize(("path", "command"), commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_help(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    text = " ".join(result.output.split())
    for param in command.params:
        if not getattr(param, "is_argument", False) and param.param_type_name == "option" and param.name != "help":
            assert param.help, f"olive {' '.join(path)} {param.opts[0]} has no description"
        for bracketed in re.findall(r"\[[a-z_.]+\]", getattr(param, "help", None) or ""):
            assert bracketed in text, f"{bracketed} swallowed in olive {' '.join(path)} --help"
