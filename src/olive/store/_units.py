"""Units of work, their leases with fencing tokens, and contacts claimed under a lease.

A unit is one campaign on one Asterisk server; one node at a time owns it
(docs/scale-out.md). Its row in ``units`` names the owner, when the lease
expires, and a **fencing token**: a number that grows by one every time the
unit changes hands, never goes back, and is never reused.

* Taking units (:func:`acquire_units`) is ``SELECT … FOR UPDATE SKIP LOCKED``
  over the units that are free or expired, then one UPDATE that gives them a
  new token. Racing nodes skip each other's rows instead of waiting, and the
  UPDATE repeats the "free or expired" condition, so no unit goes to two.
* Every write the owner makes for a unit runs in a transaction that starts
  with :func:`fence`: a ``SELECT … FOR SHARE`` of the unit row that matches
  only the owner's token on an unexpired lease, and raises
  :class:`StaleLease` otherwise. The share lock makes a successor's takeover
  (an UPDATE of that row) wait until the owner's transaction has ended, so a
  stale owner's write is either committed before the successor takes over
  (and the successor sees it when it adopts) or refused: the database
  decides, not the owner's belief that it still owns the unit.
* Contacts are claimed under the lease (:func:`claim_contacts`,
  :func:`claim_contact_for_unit`): fenced, ``FOR UPDATE SKIP LOCKED`` on the
  contacts, and a conditional UPDATE that sets ``active_call_id`` only where it
  is NULL, recording the claiming server and token. Two units of one campaign
  (one per server) claim from the same contacts and never get the same one.

These functions need PostgreSQL for concurrency (SKIP LOCKED, FOR SHARE);
on SQLite, which has one writer at a time, the same statements are correct
without them (and there is one node anyway).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    String,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from olive.ids import new_id
from olive.store._base import Base, from_epoch, to_epoch, utcnow
from olive.store._calls import Call
from olive.store._campaigns import Campaign, Contact, campaign_dial_lists
from olive.store._nodes import DOWN_HOLDS_S, Server, _insert, clock, later, live_nodes

#: Campaigns whose units are held: the others have nothing to dial.
HELD_STATUSES = ("running", "paused")


class Unit(Base):
    """One campaign on one server, and who owns it."""

    __tablename__ = "units"
    __table_args__ = (CheckConstraint("token >= 0", name="token"),)

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    server: Mapped[str] = mapped_column(ForeignKey("servers.name", ondelete="RESTRICT"), primary_key=True)
    owner_node: Mapped[str | None] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # the fencing token
    acquired_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class UnitLease:
    """What an owner holds: the unit, and the token its writes carry."""

    campaign_id: str
    server: str
    node: str
    token: int
    expires_at: float  # as the database set it; the owner stops earlier, by its own clock

    @property
    def key(self) -> tuple[str, str]:
        return (self.campaign_id, self.server)


@dataclass(frozen=True, slots=True)
class UnitView:
    campaign_id: str
    server: str
    owner_node: str | None
    token: int
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class Claim:
    contact_id: str
    call_id: str


class StaleLease(RuntimeError):
    """The unit's lease is no longer this owner's (expired, released, or taken with a newer token)."""

    def __init__(self, lease: UnitLease) -> None:
        super().__init__(
            f"unit {lease.campaign_id}@{lease.server}: token {lease.token} of node {lease.node} "
            "is no longer the unit's lease; the write is refused"
        )
        self.lease = lease


_LEASE_COLUMNS = (Unit.campaign_id, Unit.server, Unit.owner_node, Unit.token, Unit.expires_at)


def _leases(rows: Iterable[Row[str, str, str | None, int, datetime | None]]) -> list[UnitLease]:
    out = []
    for campaign_id, server, node, token, expires_at in rows:
        assert node is not None and expires_at is not None
        out.append(UnitLease(campaign_id, server, node, token, to_epoch(expires_at)))
    return sorted(out, key=lambda lease: lease.key)


def set_campaign_servers(session: Session, campaign_id: str, server_names: Sequence[str]) -> None:
    """The campaign dials through these servers: one unit each (units for other servers go)."""
    if not server_names:
        raise ValueError("a campaign dials through at least one server")
    known = set(session.scalars(select(Server.name).where(Server.name.in_(server_names))))
    if missing := sorted(set(server_names) - known):
        raise LookupError(f"no server {', '.join(map(repr, missing))} in the pool")
    session.execute(delete(Unit).where(Unit.campaign_id == campaign_id, Unit.server.not_in(server_names)))
    have = set(session.scalars(select(Unit.server).where(Unit.campaign_id == campaign_id)))
    for name in sorted(set(server_names) - have):
        session.add(Unit(campaign_id=campaign_id, server=name, token=0))
    session.flush()


def campaign_servers(session: Session, campaigns: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The servers each campaign dials through, from ``(campaign id, campaigns.server)`` pairs: its
    ``campaigns.server`` first, then the others its units are on, by name (one statement). A
    campaign without units dials through its ``campaigns.server`` alone."""
    out = {campaign_id: [first] for campaign_id, first in campaigns}
    if out:
        rows = session.execute(
            select(Unit.campaign_id, Unit.server).where(Unit.campaign_id.in_(list(out))).order_by(Unit.server)
        )
        for campaign_id, server in rows:
            if server not in out[campaign_id]:
                out[campaign_id].append(server)
    return out


def unit_servers(session: Session, campaign_id: str) -> list[str]:
    """The servers the campaign has units on, by name (none until a node or the API made them)."""
    return list(session.scalars(select(Unit.server).where(Unit.campaign_id == campaign_id).order_by(Unit.server)))


def pool_servers(session: Session) -> list[str]:
    """The servers the nodes were configured with (``olive serve`` writes them at start), by name."""
    return list(session.scalars(select(Server.name).order_by(Server.name)))


def on_server(campaign: Campaign, server: str) -> Campaign:
    """The campaign as its unit on ``server`` sees it: ``campaign.server`` is ``server``, in memory
    only (a committed value, never flushed: ``campaigns.server`` keeps naming its first server)."""
    set_committed_value(campaign, "server", server)
    return campaign


def ensure_units(session: Session) -> int:
    """Give every held campaign without a unit one, on the server it names (``campaigns.server``).

    Run by the nodes before they look for units: a campaign created or started
    through the API (which names one server) becomes a unit without anyone
    calling :func:`set_campaign_servers`. Campaigns whose server is not in the
    pool get none (no node could dial them). Returns how many were added.
    """
    have = select(Unit.campaign_id).scalar_subquery()
    missing = session.execute(
        select(Campaign.id, Campaign.server)
        .join(Server, Server.name == Campaign.server)
        .where(Campaign.status.in_(HELD_STATUSES), Campaign.id.not_in(have))
    ).all()
    if not missing:
        return 0
    added = session.execute(
        _insert(session)(Unit)
        .values([{"campaign_id": c, "server": s, "token": 0} for c, s in missing])
        .on_conflict_do_nothing(index_elements=["campaign_id", "server"])
        .returning(Unit.campaign_id)
    ).all()
    return len(added)


def units(session: Session) -> list[UnitView]:
    rows = session.scalars(select(Unit).order_by(Unit.campaign_id, Unit.server).execution_options(populate_existing=True))
    return [
        UnitView(u.campaign_id, u.server, u.owner_node, u.token, None if u.expires_at is None else to_epoch(u.expires_at))
        for u in rows
    ]


def _not_down(session: Session, at: float | None) -> ColumnElement[bool]:
    """The server is not known down: no ``down`` written within :data:`DOWN_HOLDS_S` (a stale one
    was left by an owner that is gone, and nobody else reaches the server to say otherwise)."""
    return or_(
        Server.health != "down",
        Server.health_at.is_(None),
        Server.health_at <= later(session, at, -DOWN_HOLDS_S),
    )


def calls_in_progress_by_server(session: Session) -> dict[str, int]:
    """Calls not ended, per server (what ``reserve_dials`` counts against ``max_channels``)."""
    rows = session.execute(
        select(Call.server, func.count()).where(Call.ended_at.is_(None)).group_by(Call.server)
    ).all()
    return {server: count for server, count in rows if server is not None}


def _takeable(session: Session, at: float | None) -> list[ColumnElement[bool]]:
    """Units of held campaigns on servers not known down, free or with their lease run out."""
    now = clock(session, at)
    return [
        Campaign.status.in_(HELD_STATUSES),
        _not_down(session, at),
        or_(Unit.owner_node.is_(None), Unit.expires_at.is_(None), Unit.expires_at <= now),
    ]


def fair_share(session: Session, *, at: float | None = None) -> int:
    """How many units one node should hold: the units to hold over the live nodes, rounded up.

    Units on a server marked down count: their owner holds them (it is reconnecting), and a share
    that left them out would make it hand its other units over each time a server went down."""
    total = session.scalar(
        select(func.count())
        .select_from(Unit)
        .join(Campaign, Campaign.id == Unit.campaign_id)
        .where(Campaign.status.in_(HELD_STATUSES))
    )
    return math.ceil((total or 0) / max(1, len(live_nodes(session, at=at))))


def acquire_units(
    session: Session,
    node: str,
    ttl_s: float,
    *,
    limit: int,
    at: float | None = None,
    skip_servers: Collection[str] = (),
    only_servers: Collection[str] | None = None,
) -> list[UnitLease]:
    """Take up to ``limit`` free or expired units for ``node``, each with a new fencing token.

    ``skip_servers``: none on these (servers the node cannot reach while others can);
    ``only_servers``: only on these (None: any)."""
    if limit <= 0 or (only_servers is not None and not only_servers):
        return []
    conditions = _takeable(session, at)
    if skip_servers:
        conditions.append(Unit.server.not_in(list(skip_servers)))
    if only_servers is not None:
        conditions.append(Unit.server.in_(list(only_servers)))
    picked = session.execute(
        select(Unit.campaign_id, Unit.server)
        .join(Campaign, Campaign.id == Unit.campaign_id)
        .join(Server, Server.name == Unit.server)
        .where(*conditions)
        .order_by(Unit.expires_at.nulls_first(), Unit.campaign_id, Unit.server)
        .limit(limit)
        .with_for_update(of=Unit, skip_locked=True)
    ).all()
    if not picked:
        return []
    now = clock(session, at)
    taken = session.execute(
        update(Unit)
        .where(
            tuple_(Unit.campaign_id, Unit.server).in_([tuple(p) for p in picked]),
            or_(Unit.owner_node.is_(None), Unit.expires_at.is_(None), Unit.expires_at <= now),
        )
        .values(
            owner_node=node,
            token=Unit.token + 1,
            acquired_at=now,
            heartbeat_at=now,
            expires_at=later(session, at, ttl_s),
        )
        .returning(*_LEASE_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    return _leases(taken)


def _held(leases: Iterable[UnitLease]) -> list[ColumnElement[bool]]:
    leases = list(leases)
    nodes = {lease.node for lease in leases}
    if len(nodes) > 1:
        raise ValueError(f"leases of several nodes at once: {sorted(nodes)}")
    return [
        Unit.owner_node == next(iter(nodes)),
        tuple_(Unit.campaign_id, Unit.server, Unit.token).in_([(*lease.key, lease.token) for lease in leases]),
    ]


def renew_units(
    session: Session, leases: Sequence[UnitLease], ttl_s: float, *, at: float | None = None
) -> list[UnitLease]:
    """Renew the owner's leases that are still its own and unexpired; the others are lost.

    A lease that ran out is not renewed even if nobody took it: its owner
    stopped dialing for it already, and takes it again (a new token) like
    anyone else, adopting its calls first.
    """
    if not leases:
        return []
    now = clock(session, at)
    renewed = session.execute(
        update(Unit)
        .where(*_held(leases), Unit.expires_at > now)
        .values(heartbeat_at=now, expires_at=later(session, at, ttl_s))
        .returning(*_LEASE_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    return _leases(renewed)


def release_units(session: Session, leases: Sequence[UnitLease]) -> int:
    """Give units up (a clean stop): a successor need not wait for them to expire. The token stays."""
    if not leases:
        return 0
    gone = session.execute(
        update(Unit)
        .where(*_held(leases))
        .values(owner_node=None, heartbeat_at=None, expires_at=None)
        .returning(Unit.campaign_id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(gone)


def fence(session: Session, lease: UnitLease, *, at: float | None = None, margin_s: float = 0.0) -> None:
    """Refuse the transaction's writes unless ``lease`` is still the unit's, with ``margin_s`` to spare.

    Run first in every transaction that writes for the unit. The row stays
    share-locked until the transaction ends, so the unit cannot change hands
    between this check and the commit.
    """
    ok = session.execute(
        select(Unit.token)
        .where(
            Unit.campaign_id == lease.campaign_id,
            Unit.server == lease.server,
            Unit.owner_node == lease.node,
            Unit.token == lease.token,
            Unit.expires_at > later(session, at, margin_s),
        )
        .with_for_update(read=True)
    ).first()
    if ok is None:
        raise StaleLease(lease)
    session.info[_FENCED] = (session.get_transaction(), lease)


_FENCED = "olive.store.fenced"  # session.info: (transaction, lease) last fenced


def _fenced(session: Session, lease: UnitLease) -> bool:
    """Whether this transaction already holds ``lease``'s fence (its share lock lasts until the end)."""
    transaction, fenced = session.info.get(_FENCED, (None, None))
    return transaction is not None and transaction is session.get_transaction() and fenced == lease


def reserve_dials(session: Session, lease: UnitLease, wanted: int, *, at: float | None = None, margin_s: float = 0.0) -> int:
    """How many of ``wanted`` calls the unit may place now on its server, taken from the server's budget.

    Fenced, then the server row is locked (``FOR UPDATE``) until the
    transaction ends, so the units of one server (owned by any nodes) take
    from its limits one after another: ``max_channels`` against the server's
    calls in progress (every campaign's), ``max_cps`` from a bucket that
    refills at ``max_cps`` a second and holds at most one second's worth.
    Insert the call rows in the same transaction; what is reserved and not
    placed is not given back (the bucket refills within a second).
    """
    fence(session, lease, at=at, margin_s=margin_s)
    if wanted <= 0:
        return 0
    server = session.execute(
        select(Server).where(Server.name == lease.server).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    allowed = wanted
    if server.max_channels is not None:
        in_progress = session.scalar(
            select(func.count()).select_from(Call).where(Call.server == lease.server, Call.ended_at.is_(None))
        ) or 0
        allowed = min(allowed, max(0, server.max_channels - in_progress))
    if server.max_cps is not None:
        now = to_epoch(session.scalar(select(clock(session, at))) or utcnow())
        tokens = server.max_cps if server.cps_tokens is None or server.cps_at is None else min(
            server.max_cps, server.cps_tokens + max(0.0, now - to_epoch(server.cps_at)) * server.max_cps
        )
        allowed = min(allowed, math.floor(tokens + 1e-9))
        server.cps_tokens, server.cps_at = tokens - allowed, from_epoch(now)
        session.flush()
    return allowed


def _claim(session: Session, lease: UnitLease, contact_id: str, call_id: str) -> bool:
    won = session.execute(
        update(Contact)
        .where(Contact.id == contact_id, Contact.active_call_id.is_(None), Contact.status == "pending")
        .values(
            active_call_id=call_id,
            status="dialing",
            claim_server=lease.server,
            claim_token=lease.token,
            updated_at=utcnow(),
        )
        .returning(Contact.id)
        .execution_options(synchronize_session=False)
    ).first()
    loaded = session.identity_map.get(session.identity_key(Contact, contact_id))
    if loaded is not None:
        session.expire(loaded)
    return won is not None


def claim_contact_for_unit(
    session: Session, lease: UnitLease, contact_id: str, call_id: str, *, at: float | None = None
) -> bool:
    """Fenced ``claim_contact``: True if ``call_id`` is now the contact's one call; StaleLease if not ours.

    Fenced once per transaction: the fence's lock holds until the transaction
    ends, so the unit cannot change hands between the claims of one tick.
    """
    if not _fenced(session, lease):
        fence(session, lease, at=at)
    return _claim(session, lease, contact_id, call_id)


def claim_contacts(
    session: Session, lease: UnitLease, limit: int, *, at: float | None = None, margin_s: float = 0.0
) -> list[Claim]:
    """Claim up to ``limit`` due contacts of the unit's campaign, each with a new call id.

    Fenced, then ``FOR UPDATE SKIP LOCKED``: a contact another unit is
    claiming right now is skipped, not waited for, and never claimed twice.
    Never-tried contacts first, then due retries, oldest first, list by list
    (in the index's order, like ``contacts_due``, so a claim reads only the
    rows it takes however many contacts are pending).
    """
    fence(session, lease, at=at, margin_s=margin_s)
    if limit <= 0:
        return []
    list_ids = session.scalars(
        select(campaign_dial_lists.c.dial_list_id)
        .where(campaign_dial_lists.c.campaign_id == lease.campaign_id)
        .order_by(campaign_dial_lists.c.dial_list_id)
    ).all()
    now = clock(session, at)
    due: list[str] = []
    # Never tried, then due retries; each read in the order of ix_contacts_due (list, status,
    # next attempt, id), one list at a time, so it stops after the few rows it needs.
    for when in (Contact.next_attempt_at.is_(None), Contact.next_attempt_at <= now):
        for list_id in list_ids:
            if len(due) >= limit:
                break
            due += session.scalars(
                select(Contact.id)
                .where(
                    Contact.dial_list_id == list_id,
                    Contact.status == "pending",
                    when,
                    Contact.active_call_id.is_(None),
                )
                .order_by(Contact.next_attempt_at, Contact.id)
                .limit(limit - len(due))
                .with_for_update(skip_locked=True)
            ).all()
    claims = [Claim(contact_id, new_id("call")) for contact_id in due]
    return [c for c in claims if _claim(session, lease, c.contact_id, c.call_id)]


def stamp_claims(session: Session, lease: UnitLease, call_ids: Sequence[str]) -> None:
    """Record which unit's lease claimed these calls' contacts (``claim_server``, ``claim_token``).

    For claims made through the engine's own claim (``write_ahead_all``) in a
    transaction already fenced by ``lease``: the same columns
    :func:`claim_contacts` fills.
    """
    if not call_ids:
        return
    if not _fenced(session, lease):
        fence(session, lease)
    session.execute(
        update(Contact)
        .where(Contact.active_call_id.in_(list(call_ids)))
        .values(claim_server=lease.server, claim_token=lease.token)
        .execution_options(synchronize_session=False)
    )


def open_claims(session: Session, campaign_id: str, server: str) -> list[Claim]:
    """Contacts of the campaign's dial lists still claimed through ``server``.

    A diagnostic and a cross-check: a new owner adopts the unit's open *call
    rows*, committed with their claims. (A dial list shared by two campaigns
    shows both campaigns' claims on that server here.)
    """
    lists = select(campaign_dial_lists.c.dial_list_id).where(campaign_dial_lists.c.campaign_id == campaign_id)
    rows = session.execute(
        select(Contact.id, Contact.active_call_id)
        .where(Contact.dial_list_id.in_(lists), Contact.claim_server == server, Contact.active_call_id.is_not(None))
        .order_by(Contact.id)
    ).all()
    return [Claim(contact_id, call_id) for contact_id, call_id in rows if call_id is not None]


__all__ = [
    "HELD_STATUSES",
    "Claim",
    "StaleLease",
    "Unit",
    "UnitLease",
    "UnitView",
    "acquire_units",
    "calls_in_progress_by_server",
    "campaign_servers",
    "claim_contact_for_unit",
    "claim_contacts",
    "ensure_units",
    "fair_share",
    "fence",
    "on_server",
    "open_claims",
    "pool_servers",
    "release_units",
    "renew_units",
    "reserve_dials",
    "set_campaign_servers",
    "stamp_claims",
    "unit_servers",
    "units",
]
