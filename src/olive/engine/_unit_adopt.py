"""Adopting a unit: calls whose Originate may still be on its way (docs/scale-out.md).

A new owner adopts the unit's open calls, then reconciles them with
Asterisk's channels, as after a reconnect. A call still ``originating`` in the
store with no channel at Asterisk is over for a node that was watching all
along; for a new owner it may be an Originate the old owner sent just before
its lease ran out that has not created its channel yet. So, for the first
reconciliation of a unit's engine only: such a call, ended by it as gone
without an answer while its dial timeout (+ the engine's margin) has not
passed, is not recorded; it is tracked again as an Originate whose answer is
pending, with that deadline. If its channel appears (it carries the call id as
its Linkedid) it is followed like any call; if not, the engine's usual check
of an overdue Originate ends it at the deadline ("no OriginateResponse from
Asterisk in time and no channel of the call exists"). Its contact stays
claimed until then: no second node can dial it meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from olive.calls import CallChange
from olive.engine._link import PbxLink
from olive.store import Call, to_epoch

log = logging.getLogger("olive.engine")

#: What the first reconciliation says of a call with no channel (engine/_link.py).
GONE = ("ended while AMI was disconnected", "lost in an Asterisk restart")


@dataclass(frozen=True, slots=True)
class _Pending:
    dial_string: str
    action_id: str | None
    originated_at: float
    answer_by: float


class InTransit:
    """The unit's open calls that may be Originates still on their way, until its link's first reconciliation."""

    def __init__(self, margin_s: float) -> None:
        self.margin_s = margin_s
        self.calls: dict[str, _Pending] = {}
        self.done: set[str] = set()  # links whose first reconciliation has been seen
        self.kept: list[str] = []  # call ids tracked again (for the log and the tests)

    def remember(self, call: Call, now: float) -> None:
        if call.state != "originating" or call.channel:
            return
        originated = to_epoch(call.originated_at)
        answer_by = originated + float((call.plan_snapshot or {}).get("dial_timeout_s", 30)) + self.margin_s
        if answer_by > now:
            self.calls[call.id] = _Pending(call.number, call.action_id, originated, answer_by)

    def keep(self, link: PbxLink, calls: list[CallChange], now: float) -> list[CallChange]:
        """The link's drained call changes, less the ends of calls that may still be on their way."""
        if link.name in self.done or not self.calls:
            return calls
        if not link.ready:  # not reconciled yet: its changes are not the reconciliation's
            return calls
        self.done.add(link.name)
        out: list[CallChange] = []
        for change in calls:
            rec = change.record
            pending = self.calls.get(rec.call_id)
            if (
                pending is not None
                and change.ended
                and rec.answered_at is None
                and any(gone in (rec.detail or "") for gone in GONE)
                and now < pending.answer_by
            ):
                link.tracker.originate(
                    rec.call_id,
                    action_id=pending.action_id,
                    dial_string=pending.dial_string,
                    now=pending.originated_at,
                    answer_by=pending.answer_by,
                )
                self.kept.append(rec.call_id)
                log.info(
                    "%s: call %s has no channel yet; its Originate may still be on its way: waiting until its dial "
                    "timeout has passed", link.name, rec.call_id,
                )
                continue
            out.append(change)
        self.calls.clear()
        return out


__all__ = ["InTransit"]
