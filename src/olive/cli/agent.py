"""``olive agent``: an agent's password for their own page (``/agent``): issue, revoke.

Like ``olive apikey``, this works on the database directly; the password is
printed once, alone on stdout, and stored as a salted scrypt hash. Issuing a
new one, or revoking, signs the agent's pages out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from olive.cli._common import DATABASE_OPTION, err_console

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

agent_app = typer.Typer(name="agent", help="Agents' sign-in to their own page (/agent).", no_args_is_help=True)


def _agent_id(session: Session, name: str) -> str:
    from olive.store import AgentRepository

    agent = AgentRepository(session).get_by_name(name)
    if agent is None:
        err_console.print(f"[red]no agent named {name!r} (see GET /agents)", soft_wrap=True)
        raise typer.Exit(1)
    return agent.id


@agent_app.command("password")
def password(
    name: str = typer.Argument(..., help="The agent's name, as in GET /agents."),
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Issue the agent a new password and print it once. Any earlier one stops working."""
    from olive.cli._common import open_store
    from olive.store import issue_agent_password, transaction

    sessions = open_store(database_url)
    with transaction(sessions) as session:
        plaintext = issue_agent_password(session, _agent_id(session, name))
    err_console.print(
        f"New password for agent {name}: it is shown only now; give it to them. They sign in at /agent.", soft_wrap=True
    )
    typer.echo(plaintext)


@agent_app.command("revoke")
def revoke(
    name: str = typer.Argument(..., help="The agent's name."),
    database_url: str | None = DATABASE_OPTION,
) -> None:
    """Revoke the agent's password: their pages are signed out; they cannot sign in again until a new one."""
    from olive.cli._common import open_store
    from olive.store import revoke_agent_password, transaction

    sessions = open_store(database_url)
    with transaction(sessions) as session:
        done = revoke_agent_password(session, _agent_id(session, name))
    if not done:
        err_console.print(f"[red]agent {name} has no password to revoke", soft_wrap=True)
        raise typer.Exit(1)
    err_console.print(f"Revoked the password of agent {name}; their sessions ended.", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")


__all__ = ["register"]
