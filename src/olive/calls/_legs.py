"""The channels ("legs") of one call and what each one tells.

Roles are derived, never stored: the *customer leg* is the channel the
Originate created (Uniqueid = olive's call id); the *customer side* is that
channel and its Local partner (``…;1`` / ``…;2``); the *far leg* is where the
far end's real hangup cause shows up: the trunk channel a ``;2`` leg dialed,
else the ``;2`` leg, else the customer leg itself (transcripts 02, 04, 09).

Preview mode, agent first ([olive-preview], transcripts 27-33): the Originate
creates the *agent's* channel (the *first leg*, Uniqueid = olive's call id),
and the customer leg is the channel that side's Dial() called (its DialBegin's
destination), unknown until then; the roles above then hold for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Leg:
    uniqueid: str
    name: str
    hung_up: bool = False
    hangup_requested: bool = False
    cause: int | None = None
    cause_txt: str | None = None


def local_base(name: str) -> str:
    """``Local/1001@customers-00000009;1`` -> ``Local/1001@customers-00000009``."""
    return name[:-2] if name[-2:] in (";1", ";2") else name


def expected_channel_prefix(dial_string: str) -> str:
    """How Asterisk names the channel for a dial string; only for Originates without ChannelId.

    ``Local/1001@customers`` -> ``Local/1001@customers-``;
    ``PJSIP/2001@sipp`` -> ``PJSIP/sipp-`` (PJSIP names channels after the endpoint).
    """
    tech, _, rest = dial_string.partition("/")
    if tech.upper() == "LOCAL":
        return f"{tech}/{rest.split('/')[0]}-"
    if tech.upper() == "PJSIP":
        resource = rest.split("/")[0]
        endpoint = resource.rpartition("@")[2] if "@" in resource else resource
        return f"{tech}/{endpoint}-"
    if tech.upper() in ("SIP", "IAX2"):
        return f"{tech}/{rest.split('/')[0].rpartition('@')[2]}-"
    return f"{tech}/"


class LegSet:
    def __init__(self, customer_uid: str | None = None, *, first_uid: str | None = None) -> None:
        self.customer_uid = customer_uid
        self.first_uid = first_uid  # agent first: the agent's channel the Originate created
        self.queue_uid: str | None = None  # the leg waiting in the queue
        self.trunk_uid: str | None = None  # a channel a ;2 leg dialed out to
        self.agent_uids: set[str] = set()
        self._legs: dict[str, Leg] = {}

    def __len__(self) -> int:
        return len(self._legs)

    def __iter__(self) -> Iterator[Leg]:
        return iter(self._legs.values())

    def see(self, uniqueid: str, name: str) -> Leg:
        leg = self._legs.get(uniqueid)
        if leg is None:
            leg = self._legs[uniqueid] = Leg(uniqueid, name)
        return leg

    def get(self, uniqueid: str) -> Leg | None:
        return self._legs.get(uniqueid)

    @property
    def customer(self) -> Leg | None:
        return self._legs.get(self.customer_uid or "")

    def is_first_side(self, uniqueid: str) -> bool:
        """Agent first: the agent's channel, or its Local partner."""
        leg, first = self._legs.get(uniqueid), self._legs.get(self.first_uid or "")
        if leg is None or first is None:
            return self.first_uid is not None and uniqueid == self.first_uid
        return leg is first or local_base(leg.name) == local_base(first.name)

    def is_customer_side(self, uniqueid: str) -> bool:
        leg, customer = self._legs.get(uniqueid), self.customer
        if leg is None or customer is None:
            return uniqueid == self.customer_uid
        return leg is customer or local_base(leg.name) == local_base(customer.name)

    def far(self) -> Leg | None:
        if self.trunk_uid and self.trunk_uid in self._legs:
            return self._legs[self.trunk_uid]
        customer = self.customer
        for leg in self._legs.values():
            if leg is not customer and self.is_customer_side(leg.uniqueid):
                return leg
        return customer

    def far_cause(self) -> tuple[int | None, str | None]:
        """The far end's Q.850 cause: the far leg's, or the customer leg's when the far one says 0."""
        far, customer = self.far(), self.customer
        for leg in (far, customer):
            if leg is not None and leg.hung_up and leg.cause:
                return leg.cause, leg.cause_txt
        for leg in (far, customer):
            if leg is not None and leg.hung_up:
                return leg.cause, leg.cause_txt
        return None, None

    def customer_side(self) -> list[Leg]:
        return [leg for leg in self._legs.values() if self.is_customer_side(leg.uniqueid)]

    def customer_side_hanging_up(self) -> bool:
        return any(leg.hung_up or leg.hangup_requested for leg in self.customer_side())

    def customer_side_gone(self) -> bool:
        side = self.customer_side()
        return bool(side) and all(leg.hung_up for leg in side)

    def all_hung_up(self) -> bool:
        return all(leg.hung_up for leg in self._legs.values())
