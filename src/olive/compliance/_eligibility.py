"""Why a contact may or may not be dialed now, each reason with the time it clears.

Pure: the facts are gathered elsewhere (:mod:`olive.compliance._facts`) and
handed in with ``now``. The same functions serve the dial guard, right
before every Originate, and the explanations of ``olive why`` and
``GET /contacts/{id}/eligibility``, so what olive says is what it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from olive.compliance._hours import HoursState, Zones, hours_state
from olive.compliance._schedule import Schedule

#: No call is started this close to the window's end: the Originate leaves a moment after the check.
CLOSING_MARGIN_S = 15.0
LOCKOUT_S = 72 * 3600.0  # uk-ofcom: no repeat call within 72 h of an abandoned call...
# ...unless an agent is sure to be free: progressive dialing places a call only for an idle agent.
LOCKOUT_EXEMPT_MODES = frozenset({"progressive", "preview"})
#: uk-ofcom: after AMD took a call to the number for a machine, no repeat call within 24 h
#: unless an agent is sure to be free (the same exemption).
MACHINE_LOCKOUT_S = 24 * 3600.0

# Reason codes.
CAMPAIGN_NOT_RUNNING = "campaign_not_running"
PLAN_NOT_ALLOWED = "plan_not_allowed"
IN_CALL = "in_call"
DONE = "done"
EXHAUSTED = "attempts_exhausted"
DNC = "dnc"
NO_NUMBER = "no_number"
RETRY_DELAY = "retry_delay"
CALLBACK_SCHEDULED = "callback_scheduled"
CALLBACK_OWNER_AWAY = "callback_owner_away"
UNKNOWN_TIMEZONE = "unknown_timezone"
OUTSIDE_HOURS = "outside_hours"
NO_COMMON_WINDOW = "no_common_window"
LOCKOUT = "abandon_lockout"
MACHINE_LOCKOUT = "machine_lockout"

#: How long a refusal that clears by itself at no known time is put off (unknown zone, owner away).
RECHECK_S = {UNKNOWN_TIMEZONE: 3600.0, NO_COMMON_WINDOW: 86400.0, CALLBACK_OWNER_AWAY: 30.0, PLAN_NOT_ALLOWED: 60.0}


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing standing between the contact and a call.

    ``clears_at``: when it clears by itself; None when it does not (an
    operator must act, or never), as ``clears`` says in words.
    """

    code: str
    message: str
    clears_at: float | None = None
    clears: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "clears_at": None if self.clears_at is None else iso(self.clears_at),
            "clears": self.clears or ("" if self.clears_at is None else f"at {iso(self.clears_at)}"),
        }


@dataclass(frozen=True, slots=True)
class DialFacts:
    """What the dial guard weighs for one number of one contact, besides the DNC lists."""

    profile: str
    dial_mode: str
    zones: Zones
    plan_problems: tuple[str, ...] = ()
    last_abandoned_at: float | None = None  # latest abandoned call to this number, any campaign
    last_machine_at: float | None = None  # latest call AMD took for a machine (outcome MACHINE), any campaign
    callback_owner: str | None = None  # the agent a due callback of this contact belongs to
    callback_owner_ready: bool = True


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """Everything :func:`explain` weighs for one contact in one campaign."""

    campaign_status: str
    contact_status: str
    next_attempt_at: float | None
    last_outcome: str | None
    attempts: int
    number: str | None  # the number next in turn
    dial: DialFacts
    dnc_list: str | None = None  # "global" or a campaign's list, when the number is on one
    callback_due_at: float | None = None  # a scheduled callback not yet due


@dataclass(frozen=True, slots=True)
class Eligibility:
    dial_now: bool
    reasons: tuple[Reason, ...]
    eligible_at: float | None  # when every reason will have cleared (None: not by itself)
    hours: HoursState | None = None
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.dial_now:
            return "eligible: it will be dialed when the campaign next places a call"
        when = "not by itself" if self.eligible_at is None else f"from {iso(self.eligible_at)}"
        return f"not dialed now ({', '.join(r.code for r in self.reasons)}); eligible {when}"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- the guard's part ---------------------------------------------------------------
def dial_reasons(facts: DialFacts, schedule: Schedule, now: float) -> list[Reason]:
    """What forbids dialing this number now, DNC aside (the guard checks and records that)."""
    reasons: list[Reason] = []
    if facts.plan_problems:
        reasons.append(
            Reason(
                PLAN_NOT_ALLOWED,
                f"the plan is not allowed under the {facts.profile} profile: " + "; ".join(facts.plan_problems),
                clears="when the plan is fixed",
            )
        )
    reasons.extend(hours_reasons(facts.zones, schedule, now))
    lockout = lockout_reason(facts, now)
    if lockout is not None:
        reasons.append(lockout)
    machine = machine_lockout_reason(facts, now)
    if machine is not None:
        reasons.append(machine)
    if facts.callback_owner is not None and not facts.callback_owner_ready:
        reasons.append(
            Reason(
                CALLBACK_OWNER_AWAY,
                f"its callback belongs to agent {facts.callback_owner}, who is not ready",
                clears=f"when {facts.callback_owner} is ready, or the callback is reassigned",
            )
        )
    return reasons


def hours_reasons(zones: Zones, schedule: Schedule, now: float) -> list[Reason]:
    if not zones.known:
        return [
            Reason(
                UNKNOWN_TIMEZONE,
                "its local time is unknown: the number gives no time zone; set the contact's "
                "timezone or the schedule's fallback_timezone",
                clears="when a time zone is set",
            )
        ]
    state = hours_state(schedule, zones.names, now)
    if state.open and state.closes_at is not None and state.closes_at - now < CLOSING_MARGIN_S:
        # About to close: the Originate goes out a moment after this check, so stop a little early.
        after = hours_state(schedule, zones.names, state.closes_at)
        if after.opens_at is None:
            return [Reason(NO_COMMON_WINDOW, "its calling window closes now and does not open again", clears="when a time zone is set")]
        opening = hours_state(schedule, zones.names, after.opens_at)
        return [
            Reason(
                OUTSIDE_HOURS,
                f"the calling window closes at {hours_state(schedule, zones.names, state.closes_at).local_text()}, "
                f"less than {CLOSING_MARGIN_S:g} s from now; it opens again at {opening.local_text()}",
                clears_at=after.opens_at,
            )
        ]
    if state.open:
        return []
    if state.opens_at is None and not any(True for _ in schedule.windows()):
        return [Reason(NO_COMMON_WINDOW, "the campaign's schedule has no calling window", clears="when the schedule is changed")]
    if state.opens_at is None:
        return [
            Reason(
                NO_COMMON_WINDOW,
                f"its time zones ({', '.join(zones.names)}, from its {zones.source}) never share an "
                "open calling window; set the contact's timezone",
                clears="when a time zone is set",
            )
        ]
    opening = hours_state(schedule, zones.names, state.opens_at)
    default = ""
    if schedule == Schedule():
        # Hours are the schedule's business, not the profile's: `none` keeps them too.
        default = (
            " (the campaign has no schedule, so the default window 08:00-21:00 local applies under every "
            "compliance profile, 'none' included; set a schedule to call at other hours)"
        )
    return [
        Reason(
            OUTSIDE_HOURS,
            f"outside calling hours: it is {state.local_text()}; the window opens at {opening.local_text()}{default}",
            clears_at=state.opens_at,
        )
    ]


def lockout_reason(facts: DialFacts, now: float) -> Reason | None:
    if facts.profile != "uk-ofcom" or facts.last_abandoned_at is None:
        return None
    until = facts.last_abandoned_at + LOCKOUT_S
    if now >= until or facts.dial_mode in LOCKOUT_EXEMPT_MODES:
        return None
    return Reason(
        LOCKOUT,
        f"a call to this number was abandoned at {iso(facts.last_abandoned_at)}: under uk-ofcom it may be "
        f"called again within 72 h only when an agent is sure to be free (progressive dialing)",
        clears_at=until,
    )


def machine_lockout_reason(facts: DialFacts, now: float) -> Reason | None:
    if facts.profile != "uk-ofcom" or facts.last_machine_at is None:
        return None
    until = facts.last_machine_at + MACHINE_LOCKOUT_S
    if now >= until or facts.dial_mode in LOCKOUT_EXEMPT_MODES:
        return None
    return Reason(
        MACHINE_LOCKOUT,
        f"answering-machine detection took a call to this number for a machine at {iso(facts.last_machine_at)}: "
        f"under uk-ofcom it may be called again within 24 h only when an agent is sure to be free (progressive dialing)",
        clears_at=until,
    )


# -- the full explanation -------------------------------------------------------------
def explain(facts: ContactFacts, schedule: Schedule, now: float) -> Eligibility:
    reasons: list[Reason] = []
    status = facts.campaign_status
    if status != "running":
        reasons.append(
            Reason(
                CAMPAIGN_NOT_RUNNING,
                f"the campaign is {status}",
                clears="never: the campaign is finished" if status == "finished" else "when an operator starts or resumes it",
            )
        )
    contact = facts.contact_status
    if contact == "dialing":
        reasons.append(Reason(IN_CALL, "a call to it is in progress", clears="when that call ends"))
    elif contact == "done":
        reasons.append(Reason(DONE, f"it is done (last outcome {facts.last_outcome or 'none'})", clears="never"))
    elif contact == "exhausted":
        reasons.append(
            Reason(
                EXHAUSTED,
                f"attempts exhausted: {facts.attempts} attempt(s), last outcome {facts.last_outcome or 'none'}; "
                "the plan's retry rules allow no more",
                clears="never",
            )
        )
    if contact == "dnc" or facts.dnc_list is not None:
        where = f"the {facts.dnc_list} do-not-call list" if facts.dnc_list else "a do-not-call list"
        reasons.append(Reason(DNC, f"{facts.number or 'its number'} is on {where}", clears="never"))
    if facts.number is None:
        reasons.append(Reason(NO_NUMBER, "it has no phone number", clears="never"))
    hours = None
    if facts.number is not None and facts.dial.zones.known:
        hours = hours_state(schedule, facts.dial.zones.names, now)
    guard = dial_reasons(facts.dial, schedule, now) if facts.number is not None else []
    if facts.callback_due_at is not None and facts.callback_due_at > now:
        guard.append(Reason(CALLBACK_SCHEDULED, f"a callback is scheduled for {iso(facts.callback_due_at)}", clears_at=facts.callback_due_at))
    waits = [r.clears_at for r in guard if r.clears_at is not None]
    retry_at = facts.next_attempt_at
    if retry_at is not None and retry_at > now and contact == "pending" and (not waits or retry_at > max(waits)):
        # A retry time at or before another reason's clearing is that reason's doing (the guard
        # puts contacts off until their window opens): only a later one is a retry delay.
        reasons.append(
            Reason(
                RETRY_DELAY,
                f"waiting for its next attempt (last outcome {facts.last_outcome or 'none'})",
                clears_at=retry_at,
            )
        )
    reasons.extend(guard)
    return Eligibility(not reasons, tuple(reasons), _eligible_at(reasons, facts.dial, schedule, now), hours)


def _eligible_at(reasons: list[Reason], facts: DialFacts, schedule: Schedule, now: float) -> float | None:
    if not reasons:
        return now
    if any(r.clears_at is None for r in reasons):
        return None
    after = max(r.clears_at for r in reasons if r.clears_at is not None)
    if not facts.zones.known:
        return None
    state = hours_state(schedule, facts.zones.names, after)
    return state.opens_at


__all__ = [
    "CALLBACK_OWNER_AWAY",
    "CALLBACK_SCHEDULED",
    "CAMPAIGN_NOT_RUNNING",
    "CLOSING_MARGIN_S",
    "DNC",
    "DONE",
    "EXHAUSTED",
    "IN_CALL",
    "LOCKOUT",
    "LOCKOUT_EXEMPT_MODES",
    "LOCKOUT_S",
    "NO_COMMON_WINDOW",
    "NO_NUMBER",
    "OUTSIDE_HOURS",
    "PLAN_NOT_ALLOWED",
    "RECHECK_S",
    "RETRY_DELAY",
    "UNKNOWN_TIMEZONE",
    "ContactFacts",
    "DialFacts",
    "Eligibility",
    "Reason",
    "dial_reasons",
    "explain",
    "hours_reasons",
    "iso",
    "lockout_reason",
    "machine_lockout_reason",
]
