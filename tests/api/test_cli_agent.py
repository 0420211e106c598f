"""``olive agent``: an agent's password is printed once, stored hashed, and revocable."""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from typer.testing import CliRunner

from olive.cli import app
from olive.store import Agent, AgentCredential, make_sessionmaker, open_agent_session, transaction


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_issue_then_revoke(db_url: str, db_clean: SqlEngine) -> None:
    sessions = make_sessionmaker(db_clean)
    with transaction(sessions) as session:
        session.add(Agent(name="ann", interface="PJSIP/101"))
    code, out, err = _run("agent", "password", "ann", "--database-url", db_url)
    assert code == 0, err
    password = out.strip()
    assert password and "\n" not in password and password not in err and "shown only now" in err
    with transaction(sessions) as session:
        agent_id = session.scalars(select(Agent.id)).one()
        (row,) = session.scalars(select(AgentCredential)).all()
        assert password not in row.secret_hash
        assert open_agent_session(session, agent_id, password) is not None
    assert _run("agent", "revoke", "ann", "--database-url", db_url)[0] == 0
    with transaction(sessions) as session:
        assert open_agent_session(session, agent_id, password) is None
    assert _run("agent", "revoke", "ann", "--database-url", db_url)[0] == 1  # nothing left to revoke


def test_unknown_agent(db_url: str, db_clean: SqlEngine) -> None:
    code, out, err = _run("agent", "password", "nobody", "--database-url", db_url)
    assert code == 1 and not out.strip() and "no agent named" in err
