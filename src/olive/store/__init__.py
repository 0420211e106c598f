"""olive's store: SQLAlchemy 2 models, repositories and Alembic migrations.

SQLite by default (``sqlite:///olive.db``); PostgreSQL when
``OLIVE_DATABASE_URL`` (or an explicit URL) says so. Repositories flush but
never commit: the engine tick or the API request owns the transaction.

The no-double-dial guarantee lives in the database: :func:`claim_contact`
is an atomic conditional UPDATE, and a partial unique index refuses a second
open call for one contact. See docs/store.md.
"""

from __future__ import annotations

from olive.store._apikeys import (
    ApiKey,
    create_api_key,
    hash_api_key,
    revoke_api_key,
    verify_api_key,
)
from olive.store._base import (
    Base,
    TimestampMixin,
    UTCDateTime,
    as_utc,
    from_epoch,
    to_epoch,
    utcnow,
)
from olive.store._calls import Call
from olive.store._campaigns import (
    Agent,
    Campaign,
    Contact,
    ContactNumber,
    DialList,
    campaign_agents,
    campaign_dial_lists,
)
from olive.store._compliance import (
    DEFAULT_DISPOSITION_CODES,
    Callback,
    DispositionCode,
    DncCheck,
    DncNumber,
)
from olive.store._db import (
    DEFAULT_DATABASE_URL,
    ENV_DATABASE_URL,
    current_revision,
    database_url,
    downgrade,
    head_revision,
    make_engine,
    make_sessionmaker,
    migrate,
    safe_url,
    transaction,
)
from olive.store._plans import (
    DEFAULT_RETRY_RULES,
    RETRY_OUTCOMES,
    Plan,
    RetryRule,
    default_retry_rules,
    retry_rule,
    validate_retry_rules,
)
from olive.store._queries import (
    ContactRow,
    claim_contact,
    contact_status_counts,
    contacts_due,
    import_contacts,
    next_attempt_due,
    open_calls,
    outcome_counts,
    release_contact,
    release_stale_claims,
)
from olive.store._repos import (
    CAMPAIGN_LINKS,
    AgentRepository,
    CampaignRepository,
    ContactRepository,
    DialListRepository,
    PlanRepository,
)
from olive.store._repos_records import (
    ApiKeyRepository,
    CallbackRepository,
    CallRepository,
    DispositionCodeRepository,
    DncRepository,
)
from olive.store._repository import NotFound, Page, Repository
from olive.store._vocab import (
    ABANDON_REASONS,
    AGENT_STATES,
    API_KEY_ROLES,
    CALL_STATES,
    CALLBACK_STATUSES,
    CAMPAIGN_STATUSES,
    COMPLIANCE_PROFILES,
    CONTACT_STATUSES,
    DIAL_MODES,
    DNC_RESULTS,
    DROP_ACTIONS,
    OUTCOMES,
)

__all__ = [
    "ABANDON_REASONS",
    "AGENT_STATES",
    "API_KEY_ROLES",
    "CALLBACK_STATUSES",
    "CALL_STATES",
    "CAMPAIGN_LINKS",
    "CAMPAIGN_STATUSES",
    "COMPLIANCE_PROFILES",
    "CONTACT_STATUSES",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_DISPOSITION_CODES",
    "DEFAULT_RETRY_RULES",
    "DIAL_MODES",
    "DNC_RESULTS",
    "DROP_ACTIONS",
    "ENV_DATABASE_URL",
    "OUTCOMES",
    "RETRY_OUTCOMES",
    "Agent",
    "AgentRepository",
    "ApiKey",
    "ApiKeyRepository",
    "Base",
    "Call",
    "CallRepository",
    "Callback",
    "CallbackRepository",
    "Campaign",
    "CampaignRepository",
    "Contact",
    "ContactNumber",
    "ContactRepository",
    "ContactRow",
    "DialList",
    "DialListRepository",
    "DispositionCode",
    "DispositionCodeRepository",
    "DncCheck",
    "DncNumber",
    "DncRepository",
    "NotFound",
    "Page",
    "Plan",
    "PlanRepository",
    "Repository",
    "RetryRule",
    "TimestampMixin",
    "UTCDateTime",
    "as_utc",
    "campaign_agents",
    "campaign_dial_lists",
    "claim_contact",
    "contact_status_counts",
    "contacts_due",
    "create_api_key",
    "current_revision",
    "database_url",
    "default_retry_rules",
    "downgrade",
    "from_epoch",
    "hash_api_key",
    "head_revision",
    "import_contacts",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "next_attempt_due",
    "open_calls",
    "outcome_counts",
    "release_contact",
    "release_stale_claims",
    "retry_rule",
    "revoke_api_key",
    "safe_url",
    "to_epoch",
    "transaction",
    "utcnow",
    "validate_retry_rules",
    "verify_api_key",
]
