"""Compliance: calling hours, do-not-call, the 2-second rule, abandon caps,
dispositions and callbacks, explanations and records. See docs/compliance.md.

The pure parts (schedules, calling hours, eligibility reasons, profile
checks, the retry rule) take the time they are about and do no I/O. The
rest reads and writes the store inside the caller's transaction.
:class:`ComplianceGuard` is the engine's default dial guard; the dial guard's
types (:class:`DialGuard`, :class:`Verdict`) and the retry rule
(:func:`after_attempt`) live here too, below the engine that uses them.
"""

from olive.compliance._dial_guard import (
    ALLOW,
    AllowAll,
    DialGuard,
    DialObserver,
    DialPreparer,
    DialRecorder,
    Verdict,
)
from olive.compliance._dispositions import (
    DispositionError,
    DispositionResult,
    apply_disposition,
    apply_dispositions,
    cancel_callback,
    ensure_codes,
    schedule_callback,
    set_disposition,
)
from olive.compliance._dnc import (
    DncEntry,
    DncImportRefused,
    DncImportReport,
    import_dnc,
    normalize_dnc,
    parse_dnc_csv,
)
from olive.compliance._eligibility import (
    CALLBACK_OWNER_AWAY,
    CLOSING_MARGIN_S,
    LOCKOUT_S,
    RECHECK_S,
    ContactFacts,
    DialFacts,
    Eligibility,
    Reason,
    dial_reasons,
    explain,
)
from olive.compliance._facts import TickFacts, contact_facts, dial_facts, due_callback, gather
from olive.compliance._guard import ComplianceGuard
from olive.compliance._hours import (
    HoursState,
    Zones,
    contact_zones,
    hours_state,
    next_open_in_all,
    open_in_all,
)
from olive.compliance._profile import campaign_problems, check_schedule_for_profile, plan_warnings
from olive.compliance._records import EXPORTS, export_rows, write_csv
from olive.compliance._retry import (
    FINAL_OUTCOMES,
    NextStep,
    NumberHistory,
    after_attempt,
    counts_as_attempt,
)
from olive.compliance._schedule import Schedule, ScheduleError, Window, parse_schedule
from olive.compliance._why import (
    CampaignExplanation,
    ContactExplanation,
    explain_campaign,
    explain_contact,
)

__all__ = [
    "ALLOW",
    "CALLBACK_OWNER_AWAY",
    "CLOSING_MARGIN_S",
    "EXPORTS",
    "FINAL_OUTCOMES",
    "LOCKOUT_S",
    "RECHECK_S",
    "AllowAll",
    "CampaignExplanation",
    "ComplianceGuard",
    "ContactExplanation",
    "ContactFacts",
    "DialFacts",
    "DialGuard",
    "DialObserver",
    "DialPreparer",
    "DialRecorder",
    "DispositionError",
    "DispositionResult",
    "DncEntry",
    "DncImportRefused",
    "DncImportReport",
    "Eligibility",
    "HoursState",
    "NextStep",
    "NumberHistory",
    "Reason",
    "Schedule",
    "ScheduleError",
    "TickFacts",
    "Verdict",
    "Window",
    "Zones",
    "after_attempt",
    "apply_disposition",
    "apply_dispositions",
    "campaign_problems",
    "cancel_callback",
    "check_schedule_for_profile",
    "contact_facts",
    "contact_zones",
    "counts_as_attempt",
    "dial_facts",
    "dial_reasons",
    "due_callback",
    "ensure_codes",
    "explain",
    "explain_campaign",
    "explain_contact",
    "export_rows",
    "gather",
    "hours_state",
    "import_dnc",
    "next_open_in_all",
    "normalize_dnc",
    "open_in_all",
    "parse_dnc_csv",
    "parse_schedule",
    "plan_warnings",
    "schedule_callback",
    "set_disposition",
    "write_csv",
]
