"""The agent's own verbs, and what an admin does with agents' passwords.

Going ready, pausing and logging out call the same service as the admin's
``/agents/{id}/...`` endpoints (QueueAdd, QueuePause, QueueRemove through the
engine). Dispositions go through the same service as
``POST /calls/{id}/disposition``. An agent sees a contact only while the call
is theirs: on it, or after it until they dispose it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from olive.api._agent.schemas import (
    AgentDisposition,
    AgentSelf,
    Attempt,
    CallbackBrief,
    CampaignBrief,
    CodeBrief,
    MyCallback,
    NumberBrief,
    PauseReasonItem,
    ScreenPop,
    SessionOut,
    SignIn,
)
from olive.api._agent_auth import AgentPrincipal
from olive.api._agents import service as agents
from olive.api._agents.schemas import AgentOut
from olive.api._deps import ApiContext
from olive.api._dispositions import service as dispositions
from olive.api._dispositions.schemas import DispositionOut, DispositionSet
from olive.api._errors import Unauthorized
from olive.errors import Conflict, Invalid
from olive.store import (
    Agent,
    AgentRepository,
    AgentSession,
    Call,
    Callback,
    CallbackRepository,
    CallRepository,
    Campaign,
    CampaignRepository,
    Contact,
    ContactNumber,
    ContactRepository,
    NotFound,
    end_agent_sessions,
    hash_password,
    open_agent_session,
    pause_reasons,
    transaction,
)

#: Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password("not a password")
HISTORY = 50


def sign_in(session: Session, body: SignIn) -> SessionOut:
    from olive.store import check_password

    agent = AgentRepository(session).get_by_name(body.name)
    opened = open_agent_session(session, agent.id, body.password) if agent is not None else None
    if agent is None:
        check_password(body.password, _DUMMY_HASH)
    if agent is None or opened is None:
        raise Unauthorized("the name or the password is wrong")
    row, token = opened
    return SessionOut(token=token, expires_at=row.expires_at, agent_id=agent.id, name=agent.name)


def sign_out(session: Session, me: AgentPrincipal) -> None:
    end_agent_sessions(session, me.agent_id, only=me.session_id)


def campaigns_of(session: Session, agent_id: str) -> list[Campaign]:
    return CampaignRepository(session).of_agent(agent_id)


def reasons_of(session: Session, agent_id: str) -> list[PauseReasonItem]:
    """Every pause reason of the agent's campaigns, each code once (defaults without campaigns)."""
    seen: dict[str, str] = {}
    campaigns = campaigns_of(session, agent_id)
    for campaign in campaigns:
        for code, label in pause_reasons(session, campaign.id):
            seen.setdefault(code, label)
    if not campaigns:
        seen = dict(pause_reasons(session, ""))
    return [PauseReasonItem(code=code, label=label) for code, label in seen.items()]


def visible_call(session: Session, agent: Agent) -> Call | None:
    """The call the agent may see: the one they are on, else their last one until they dispose it."""
    if agent.current_call_id is not None:
        call = session.get(Call, agent.current_call_id)
        # In wrap-up the agent's current call is the one just over: shown until disposed.
        if call is not None and call.agent_id == agent.id and (call.ended_at is None or call.disposition is None):
            return call
    last = CallRepository(session).last_connected_for(agent.id)
    if last is not None and (last.ended_at is None or last.disposition is None):
        return last
    return None


def read_self(session: Session, me: AgentPrincipal) -> AgentSelf:
    agent = agents.get(session, me.agent_id)
    call = visible_call(session, agent)
    return AgentSelf(
        agent=agents.to_out(session, [agent])[0],
        campaigns=[CampaignBrief(id=c.id, name=c.name, status=c.status) for c in campaigns_of(session, agent.id)],
        pause_reasons=reasons_of(session, agent.id),
        disposition_codes=[
            CodeBrief(code=c.code, label=c.label, callback=c.callback, final=c.final, add_to_dnc=c.add_to_dnc)
            for c in dispositions.list_codes(session)
        ],
        call_id=None if call is None else call.id,
    )


def _own_call(session: Session, me: AgentPrincipal, call_id: str) -> Call:
    call = visible_call(session, agents.get(session, me.agent_id))
    if call is None or call.id != call_id:
        # The same answer whether the call exists or not: an agent learns nothing of others' calls.
        raise NotFound("call", call_id)
    return call


def screen_pop(session: Session, me: AgentPrincipal, call_id: str) -> ScreenPop:
    call = _own_call(session, me, call_id)
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None  # calls.campaign_id is RESTRICT
    contact = session.get(Contact, call.contact_id) if call.contact_id else None
    numbers, history, callbacks = contact_card(session, me, contact, call.contact_number_id)
    return ScreenPop(
        call_id=call.id,
        campaign=CampaignBrief(id=campaign.id, name=campaign.name, status=campaign.status),
        state=call.state,
        connected_at=call.agent_connected_at,
        ended_at=call.ended_at,
        number=call.number,
        contact_id=call.contact_id,
        name=None if contact is None else contact.name,
        external_ref=None if contact is None else contact.external_ref,
        timezone=None if contact is None else contact.timezone,
        fields={} if contact is None else dict(contact.variables or {}),
        numbers=numbers,
        history=history,
        callbacks=callbacks,
        disposition=call.disposition,
        disposition_note=call.disposition_note,
    )


def contact_card(
    session: Session, me: AgentPrincipal, contact: Contact | None, dialed_number_id: str | None
) -> tuple[list[NumberBrief], list[Attempt], list[CallbackBrief]]:
    """A contact's numbers (``dialed_number_id`` marked), attempts and callbacks, as an agent sees them."""
    numbers: list[ContactNumber] = []
    history: list[Call] = []
    callbacks: list[Callback] = []
    if contact is not None:
        numbers = ContactRepository(session).numbers(contact.id)
        history = CallRepository(session).latest_for_contact(contact.id, HISTORY)
        callbacks = CallbackRepository(session).of_contact(contact.id)
    ids = {c.agent_id for c in history if c.agent_id} | {
        b.agent_id for b in callbacks if b.agent_id
    }
    names = AgentRepository(session).names(ids)
    return (
        [
            NumberBrief(
                number=n.number, position=n.position, attempts=n.attempts, last_outcome=n.last_outcome,
                dialed=n.id == dialed_number_id,
            )
            for n in numbers
        ],
        [
            Attempt(
                call_id=c.id, number=c.number, originated_at=c.originated_at, outcome=c.outcome,
                agent=names.get(c.agent_id or "", c.agent_interface), talk_s=c.talk_s, disposition=c.disposition,
                disposition_note=c.disposition_note,
            )
            for c in history
        ],
        [
            CallbackBrief(
                due_at=b.due_at, status=b.status, note=b.note, mine=b.agent_id == me.agent_id,
                owner=None if b.agent_id is None else names.get(b.agent_id, b.agent_id),
            )
            for b in callbacks
        ],
    )


MY_CALLBACKS = 200


def my_callbacks(session: Session, me: AgentPrincipal) -> list[MyCallback]:
    """The agent's own scheduled callbacks, earliest first (booked *for me*, or given to them by a supervisor)."""
    rows = CallbackRepository(session).scheduled_for_agent(me.agent_id, MY_CALLBACKS)
    first = ContactRepository(session).first_numbers(contact.id for _, contact, _ in rows)
    return [
        MyCallback(
            id=callback.id, due_at=callback.due_at, note=callback.note,
            campaign=CampaignBrief(id=campaign.id, name=campaign.name, status=campaign.status),
            contact_name=contact.name, external_ref=contact.external_ref, number=first.get(contact.id),
            source_call_id=callback.source_call_id,
        )
        for callback, contact, campaign in rows
    ]


def dispose(session: Session, me: AgentPrincipal, call_id: str, body: AgentDisposition, now: float) -> DispositionOut:
    call = _own_call(session, me, call_id)
    if body.callback_at is not None and body.callback_at.timestamp() <= now:
        raise Invalid("the callback's time has passed: choose a time in the future", field="callback_at")
    agent = agents.get(session, me.agent_id)
    request = DispositionSet(
        code=body.code,
        note=body.note,
        by=agent.name,
        callback_at=body.callback_at,
        callback_agent_id=agent.id if body.callback_at is not None and body.callback_mine else None,
    )
    return dispositions.set_call_disposition(session, call.id, request, now)


def session_live(context: ApiContext, session_id: str) -> bool:
    with transaction(context.sessions) as session:
        row = session.get(AgentSession, session_id)
        return row is not None and row.ended_at is None and row.expires_at > datetime.now(UTC)


#: How often an agent's open event stream checks that its session still lives. A session ended on
#: another olive node (whose event bus this one does not hear), or expired, ends the stream this soon.
SESSION_CHECK_S = 1.0


async def until_signed_out(
    context: ApiContext, me: AgentPrincipal, stream: AsyncIterator[str], *, check_s: float = SESSION_CHECK_S
) -> AsyncIterator[str]:
    """The agent's event stream, ended once their session has ended: at once when this node hears
    an admin end it (after telling the page), else within ``check_s``. The page then finds its
    session gone (401) and shows the sign-in form."""
    loop = asyncio.get_running_loop()
    chunks = aiter(stream)
    pending: asyncio.Future[str] | None = None
    next_check = loop.time() + check_s
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(chunks))
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, next_check - loop.time()))
            if pending in done:
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield chunk
                if '"signed_out":true' in chunk and not await run_in_threadpool(session_live, context, me.session_id):
                    return
            if loop.time() >= next_check:
                if not await run_in_threadpool(session_live, context, me.session_id):
                    return
                next_check = loop.time() + check_s
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()  # unsubscribe from the bus now, not when collected


def _allowed_reason(context: ApiContext, agent_id: str, reason: str) -> None:
    with transaction(context.sessions) as session:
        codes = [r.code for r in reasons_of(session, agent_id)]
    if reason not in codes:
        raise Invalid(f"{reason!r} is not one of this agent's pause reasons: {', '.join(codes)}", field="reason")


def _undisposed_call(context: ApiContext, agent_id: str) -> str | None:
    with transaction(context.sessions) as session:
        call = visible_call(session, agents.get(session, agent_id))
        return None if call is None or call.disposition is not None else call.id


async def go_ready(context: ApiContext, me: AgentPrincipal) -> AgentOut:
    """Logged out: log in (QueueAdd follows); paused: unpause (QueuePause Paused=false);
    in wrap-up: end it now (see :func:`end_wrap_up`)."""
    current = await agents.read(context, me.agent_id)
    if current.state == "logged_out":
        if not current.campaign_ids:
            raise Conflict("you are in no campaign yet; ask a supervisor to add you to one", field="state")
        return await agents.login(context, me.agent_id)
    if current.state == "wrap_up":
        return await end_wrap_up(context, me)
    return await agents.ready(context, me.agent_id)


async def end_wrap_up(context: ApiContext, me: AgentPrincipal) -> AgentOut:
    """The agent is done with their last call before the plan's ``wrapup_s`` is up.

    The call must be disposed first (the next call would take its place on
    the screen). Wrap-up is held in two places: olive's member tracker (until
    ``wrapup_s`` has passed) and Asterisk's queue (``wrapuptime`` after the
    member's last call). Neither has a verb to end it, so the agent goes out
    of the queues and back in through the engine's own verbs, as
    ``POST /agents/{id}/logout`` and ``/login`` do: QueueRemove now, then
    QueueAdd on the engine's next tick. A re-added member has no last call in
    app_queue, so Asterisk offers it the next call at once, and the tracker
    sees a new, idle member. A pause asked for during the call is dropped:
    the agent asked to be ready.
    """
    undisposed = await run_in_threadpool(_undisposed_call, context, me.agent_id)
    if undisposed is not None:
        raise Conflict(f"save a disposition for call {undisposed} first, then you are ready for the next one", field="state")
    await agents.logout(context, me.agent_id)
    return await agents.login(context, me.agent_id)


async def pause(context: ApiContext, me: AgentPrincipal, reason: str) -> AgentOut:
    await run_in_threadpool(_allowed_reason, context, me.agent_id, reason)
    return await agents.pause(context, me.agent_id, reason)


async def log_out(context: ApiContext, me: AgentPrincipal) -> AgentOut:
    return await agents.logout(context, me.agent_id)


__all__ = [
    "SESSION_CHECK_S",
    "campaigns_of",
    "dispose",
    "end_wrap_up",
    "go_ready",
    "log_out",
    "my_callbacks",
    "pause",
    "read_self",
    "reasons_of",
    "screen_pop",
    "session_live",
    "sign_in",
    "sign_out",
    "until_signed_out",
    "visible_call",
]
