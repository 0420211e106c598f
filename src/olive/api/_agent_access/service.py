"""What an admin does for agents' sign-in: issue and revoke passwords, force an agent out,
and set a campaign's pause reasons."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from olive.api._agent_access.schemas import PasswordOut, PauseReasonItem, PauseReasons
from olive.api._agents import service as agents
from olive.api._agents.schemas import AgentOut
from olive.api._deps import ApiContext
from olive.api._schemas import get_or_404
from olive.errors import Conflict
from olive.store import (
    CampaignRepository,
    NotFound,
    end_agent_sessions,
    issue_agent_password,
    pause_reasons,
    revoke_agent_password,
    set_pause_reasons,
    transaction,
)

#: The reason an agent forced out while on a call is paused with, until the call ends.
FORCED_OUT = "forced_out"


def _issue(context: ApiContext, agent_id: str) -> PasswordOut:
    with transaction(context.sessions) as session:
        agents.get(session, agent_id)
        return PasswordOut(agent_id=agent_id, password=issue_agent_password(session, agent_id))


async def issue_password(context: ApiContext, agent_id: str) -> PasswordOut:
    out = await run_in_threadpool(_issue, context, agent_id)
    await _signed_out(context, agent_id)  # a new password ends the old one's sessions
    return out


def _revoke(context: ApiContext, agent_id: str) -> None:
    with transaction(context.sessions) as session:
        agents.get(session, agent_id)
        if not revoke_agent_password(session, agent_id):
            raise NotFound("password of agent", agent_id)


async def revoke_password(context: ApiContext, agent_id: str) -> None:
    await run_in_threadpool(_revoke, context, agent_id)
    await _signed_out(context, agent_id)


def _end_sessions(context: ApiContext, agent_id: str) -> AgentOut:
    with transaction(context.sessions) as session:
        agent = agents.get(session, agent_id)
        end_agent_sessions(session, agent_id)
        return agents.to_out(session, [agent])[0]


async def force_out(context: ApiContext, agent_id: str) -> AgentOut:
    """Sign the agent out of their page and take them out of their queues.

    An agent on a call keeps it: they are paused (no new call) and their page
    is signed out; log them out once the call is over.
    """
    agent = await run_in_threadpool(_end_sessions, context, agent_id)
    if agent.state != "logged_out":
        try:
            agent = await agents.logout(context, agent_id)
        except Conflict:
            agent = await agents.pause(context, agent_id, FORCED_OUT)
    await _signed_out(context, agent_id)
    return agent


async def _signed_out(context: ApiContext, agent_id: str) -> None:
    engine = context.engine  # published on the engine's loop, as every bus event is
    await context.engine_view(engine.bus.publish, "agent", engine.clock.now(), {"agent_id": agent_id, "signed_out": True})


def read_reasons(context: ApiContext, campaign_id: str) -> PauseReasons:
    with transaction(context.sessions) as session:
        get_or_404(CampaignRepository(session), campaign_id)
        return PauseReasons(reasons=[PauseReasonItem(code=c, label=lbl) for c, lbl in pause_reasons(session, campaign_id)])


def write_reasons(context: ApiContext, campaign_id: str, body: PauseReasons) -> PauseReasons:
    codes = [r.code for r in body.reasons]
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    if duplicated:
        from olive.errors import Invalid

        raise Invalid(f"each code once: {', '.join(duplicated)} given more than once", field="reasons")
    with transaction(context.sessions) as session:
        get_or_404(CampaignRepository(session), campaign_id)
        set_pause_reasons(session, campaign_id, [(r.code, r.label) for r in body.reasons])
    return read_reasons(context, campaign_id)


__all__ = ["FORCED_OUT", "force_out", "issue_password", "read_reasons", "revoke_password", "write_reasons"]
