"""Agents' passwords and sessions in the store: hashed, salted, expiring, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine as SqlEngine

from olive.store import (
    SESSION_TTL,
    Agent,
    check_password,
    end_agent_sessions,
    hash_password,
    issue_agent_password,
    make_sessionmaker,
    open_agent_session,
    revoke_agent_password,
    transaction,
    verify_agent_session,
)


def test_password_hash_is_salted_and_checked() -> None:
    one, two = hash_password("correct horse"), hash_password("correct horse")
    assert one != two and "correct horse" not in one
    assert check_password("correct horse", one) and check_password("correct horse", two)
    assert not check_password("correct horsE", one)
    for stored in ("", "scrypt$x", "bcrypt$1$2$3$4$5", "scrypt$16384$8$1$!!$!!", one.replace("scrypt", "other")):
        assert not check_password("correct horse", stored)


def test_sessions_open_expire_and_end(db_clean: SqlEngine) -> None:
    sessions = make_sessionmaker(db_clean)
    now = datetime.now(UTC)
    with transaction(sessions) as s:
        agent = Agent(name="ann", interface="PJSIP/101")
        s.add(agent)
        s.flush()
        password = issue_agent_password(s, agent.id)
        assert open_agent_session(s, agent.id, "wrong") is None
        opened = open_agent_session(s, agent.id, password, now=now)
        assert opened is not None
        row, token = opened
        assert token not in row.token_hash and row.expires_at == now + SESSION_TTL
        assert verify_agent_session(s, token, now=now) is row
        assert verify_agent_session(s, token + "x", now=now) is None
        assert verify_agent_session(s, token.replace("olive_agent_", "olive_"), now=now) is None  # not an agent token
        assert verify_agent_session(s, token, now=now + SESSION_TTL + timedelta(seconds=1)) is None  # expired
        assert end_agent_sessions(s, agent.id, only=row.id) == 1
        assert verify_agent_session(s, token, now=now) is None
        _, second = open_agent_session(s, agent.id, password, now=now) or (None, "")
        assert revoke_agent_password(s, agent.id)
        assert verify_agent_session(s, second, now=now) is None  # revoking ends the sessions
        assert open_agent_session(s, agent.id, password) is None
        assert not revoke_agent_password(s, agent.id)
