"""Who an agent's page is: the agent behind a session token.

Agents do not hold API keys. An admin issues an agent a password
(``POST /agents/{id}/password`` or ``olive agent password``); signing in
with it (``POST /agent/session``) gives a session token, sent as
``Authorization: Bearer olive_agent_...``. The token reaches only the
``/agent/...`` endpoints, and those act only on the agent's own data; the
API-key dependency (:func:`olive.api._deps.authenticate`) refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from olive.api._deps import Context
from olive.api._errors import Forbidden, Unauthorized
from olive.store import AGENT_TOKEN_PREFIX, verify_agent_session

_TOKEN_SHAPE = re.compile(re.escape(AGENT_TOKEN_PREFIX) + r"[A-Za-z0-9_\-]{16,128}")

_bearer = HTTPBearer(
    scheme_name="AgentSession",
    auto_error=False,
    description="An agent's session token from POST /agent/session: `Authorization: Bearer olive_agent_...`",
)


@dataclass(frozen=True, slots=True)
class AgentPrincipal:
    agent_id: str
    session_id: str


def authenticate_agent(
    context: Context, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> AgentPrincipal:
    token = bearer.credentials if bearer is not None else ""
    if not token:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <session token>' from POST /agent/session")
    if not token.startswith(AGENT_TOKEN_PREFIX):
        raise Forbidden("this endpoint is an agent's own: sign in as the agent (POST /agent/session), not with an API key")
    if _TOKEN_SHAPE.fullmatch(token) is None:
        raise Unauthorized("the session is not valid; sign in again")
    with context.sessions() as session:
        row = verify_agent_session(session, token)
        if row is None:
            raise Unauthorized("the session has ended or is not valid; sign in again")
        return AgentPrincipal(row.agent_id, row.id)


Me = Annotated[AgentPrincipal, Depends(authenticate_agent)]

__all__ = ["AgentPrincipal", "Me", "authenticate_agent"]
