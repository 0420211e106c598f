"""The ``olive`` command.

Each sub-command lives in its own module with a ``register(app)`` function,
listed in ``_COMMANDS``; heavy imports happen inside the commands so that
``olive --help`` stays fast.
"""

from __future__ import annotations

import importlib
import typing

import typer

from olive import __version__


def _no_type_beside_flags() -> None:
    """Typer's rich help prints ``<bool>`` beside every flag; a flag takes no value, so print none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: typing.Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_no_type_beside_flags()

app = typer.Typer(
    name="olive",
    help="olive: an outbound predictive dialer for Asterisk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

_COMMANDS: list[str] = ["demo", "db", "run", "calls", "bench", "sim", "why", "export", "dnc", "serve", "apikey", "agent", "campaign", "contacts", "events"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"olive {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """olive: an outbound predictive dialer for Asterisk."""


for _name in _COMMANDS:
    importlib.import_module(f"olive.cli.{_name}").register(app)


def main() -> None:
    app()


__all__ = ["app", "main"]
