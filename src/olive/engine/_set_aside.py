"""When ticks keep failing on what they write: find the change the database refuses.

One record the database cannot store (a value too long for its column, say)
would otherwise fail every tick's transaction forever, and the engine with
it. So after repeated failures the waiting changes are stored one at a time;
those refused while the database answers are set aside (logged, counted);
a database that is down, or busy (SQLite's "database is locked": another
writer holds the lock past the busy timeout), sets nothing aside, and the
changes wait. Each store runs in the engine's database thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from olive.calls import AgentChange, CallChange
from olive.store import ping

if TYPE_CHECKING:
    from olive.engine._engine import Engine
    from olive.engine._link import PbxLink

log = logging.getLogger("olive.engine")


async def set_aside_refused(engine: Engine, now: float) -> None:
    for link in engine.links.values():
        if not await _set_aside_on(engine, link, now):
            return


async def _set_aside_on(engine: Engine, link: PbxLink, now: float) -> bool:
    """False when the database itself is away or busy (stop trying)."""
    calls, agents = link.call_changes, link.agent_changes
    link.call_changes, link.agent_changes = [], []
    singles: list[tuple[list[CallChange], list[AgentChange]]] = [([c], []) for c in calls]
    singles += [([], [a]) for a in agents]
    for i, (one_call, one_agent) in enumerate(singles):
        try:
            await engine.persist_now([(link, one_call, one_agent)], now)
        except Exception as exc:
            if isinstance(exc, OperationalError) or not await engine.run_db(_database_answers, engine):
                # Ahead of what arrived meanwhile: a call's older change never overwrites a newer one.
                link.requeue(
                    [c for rest, _ in singles[i:] for c in rest],
                    [a for _, rest in singles[i:] for a in rest],
                )
                return False
            engine.health.change_set_aside()
            what = one_call[0].record.call_id if one_call else one_agent[0].status.interface
            log.error("%s: could not store a change of %s (%s); set aside", link.name, what, exc)
    return True


def _database_answers(engine: Engine) -> bool:
    try:
        with engine.sessions() as session:
            ping(session)
    except Exception:
        return False
    return True


__all__ = ["set_aside_refused"]
