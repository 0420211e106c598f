"""Initial schema: plans, campaigns, dial lists, contacts, agents, calls,
API keys, do-not-call, dispositions and callbacks.

Hand-checked on SQLite and PostgreSQL. Types are spelled out here, not
imported from the models, so this file keeps meaning what it meant.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=40)
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OPEN_CALL = sa.text("ended_at IS NULL")
GLOBAL_DNC = sa.text("campaign_id IS NULL")


def _in(column: str, *values: str) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dial_mode", sa.String(16), nullable=False),
        sa.Column("dial_timeout_s", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.String(200), nullable=True),
        sa.Column("channel_template", sa.String(200), nullable=False),
        sa.Column("context", sa.String(80), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=False),
        sa.Column("lines_per_agent", sa.Float(), nullable=False),
        sa.Column("max_calls_per_second", sa.Float(), nullable=False),
        sa.Column("abandon_target", sa.Float(), nullable=False),
        sa.Column("wrapup_s", sa.Float(), nullable=False),
        sa.Column("connect_limit_s", sa.Float(), nullable=False),
        sa.Column("drop_action", sa.String(16), nullable=False),
        sa.Column("drop_message", sa.String(200), nullable=True),
        sa.Column("retry_rules", JSON, nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            _in("dial_mode", "progressive", "power", "predictive"), name=op.f("ck_plans_dial_mode")
        ),
        sa.CheckConstraint(
            _in("drop_action", "hangup", "message"), name=op.f("ck_plans_drop_action")
        ),
        sa.CheckConstraint(
            "dial_timeout_s BETWEEN 1 AND 300", name=op.f("ck_plans_dial_timeout_s")
        ),
        sa.CheckConstraint(
            "channel_template LIKE '%{number}%'", name=op.f("ck_plans_channel_template")
        ),
        sa.CheckConstraint("max_concurrent >= 1", name=op.f("ck_plans_max_concurrent")),
        sa.CheckConstraint("lines_per_agent > 0", name=op.f("ck_plans_lines_per_agent")),
        sa.CheckConstraint("max_calls_per_second > 0", name=op.f("ck_plans_max_calls_per_second")),
        sa.CheckConstraint(
            "abandon_target >= 0 AND abandon_target <= 1", name=op.f("ck_plans_abandon_target")
        ),
        sa.CheckConstraint("wrapup_s >= 0", name=op.f("ck_plans_wrapup_s")),
        sa.CheckConstraint("connect_limit_s > 0", name=op.f("ck_plans_connect_limit_s")),
        sa.CheckConstraint(
            "drop_action = 'hangup' OR drop_message IS NOT NULL", name=op.f("ck_plans_drop_message")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("name", name=op.f("uq_plans_name")),
    )

    op.create_table(
        "dial_lists",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("default_region", sa.String(2), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_lists")),
        sa.UniqueConstraint("name", name=op.f("uq_dial_lists_name")),
    )

    op.create_table(
        "agents",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("interface", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("pause_reason", sa.String(200), nullable=True),
        sa.Column("state_since", TS, nullable=True),
        sa.Column("current_call_id", ID, nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            _in("state", "logged_out", "ready", "paused", "ringing", "on_call", "wrap_up"),
            name=op.f("ck_agents_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
        sa.UniqueConstraint("interface", name=op.f("uq_agents_interface")),
    )

    op.create_table(
        "api_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(14), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.CheckConstraint(_in("role", "admin", "viewer"), name=op.f("ck_api_keys_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])

    op.create_table(
        "disposition_codes",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("retry", sa.Boolean(), nullable=False),
        sa.Column("add_to_dnc", sa.Boolean(), nullable=False),
        sa.Column("callback", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_disposition_codes")),
    )

    op.create_table(
        "campaigns",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("queue", sa.String(80), nullable=False),
        sa.Column("server", sa.String(80), nullable=False),
        sa.Column("compliance_profile", sa.String(16), nullable=False),
        sa.Column("schedule", JSON, nullable=True),
        sa.Column("default_region", sa.String(2), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            _in("status", "stopped", "running", "paused", "finished"),
            name=op.f("ck_campaigns_status"),
        ),
        sa.CheckConstraint(
            _in("compliance_profile", "us-tsr", "uk-ofcom", "none"),
            name=op.f("ck_campaigns_compliance_profile"),
        ),
        _fk("campaigns", "plan_id", "plans", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_index("ix_campaigns_plan_id", "campaigns", ["plan_id"])

    for link, column, target in (
        ("campaign_dial_lists", "dial_list_id", "dial_lists"),
        ("campaign_agents", "agent_id", "agents"),
    ):
        op.create_table(
            link,
            sa.Column("campaign_id", ID, nullable=False),
            sa.Column(column, ID, nullable=False),
            _fk(link, "campaign_id", "campaigns", "CASCADE"),
            _fk(link, column, target, "CASCADE"),
            sa.PrimaryKeyConstraint("campaign_id", column, name=op.f(f"pk_{link}")),
        )
        op.create_index(f"ix_{link}_{column}", link, [column])

    op.create_table(
        "contacts",
        sa.Column("id", ID, nullable=False),
        sa.Column("dial_list_id", ID, nullable=False),
        sa.Column("external_ref", sa.String(200), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("variables", JSON, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_number_index", sa.Integer(), nullable=False),
        sa.Column("active_call_id", ID, nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            _in("status", "pending", "dialing", "done", "exhausted", "dnc"),
            name=op.f("ck_contacts_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_contacts_attempts")),
        sa.CheckConstraint("next_number_index >= 0", name=op.f("ck_contacts_next_number_index")),
        _fk("contacts", "dial_list_id", "dial_lists", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint(
            "dial_list_id", "external_ref", name=op.f("uq_contacts_dial_list_id_external_ref")
        ),
    )
    op.create_index("ix_contacts_due", "contacts", ["dial_list_id", "status", "next_attempt_at"])

    op.create_table(
        "contact_numbers",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        *_timestamps(),
        sa.CheckConstraint("position >= 0", name=op.f("ck_contact_numbers_position")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_contact_numbers_attempts")),
        _fk("contact_numbers", "contact_id", "contacts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_numbers")),
        sa.UniqueConstraint(
            "contact_id", "position", name=op.f("uq_contact_numbers_contact_id_position")
        ),
    )
    op.create_index("ix_contact_numbers_number", "contact_numbers", ["number"])

    op.create_table(
        "calls",
        sa.Column("id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("contact_number_id", ID, nullable=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(80), nullable=False),
        sa.Column("action_id", sa.String(80), nullable=True),
        sa.Column("uniqueid", sa.String(80), nullable=True),
        sa.Column("linkedid", sa.String(80), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("dial_status", sa.String(32), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("hangup_cause_txt", sa.String(200), nullable=True),
        sa.Column("originate_reason", sa.Integer(), nullable=True),
        sa.Column("originated_at", TS, nullable=False),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("queued_at", TS, nullable=True),
        sa.Column("agent_connected_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("agent_interface", sa.String(200), nullable=True),
        sa.Column("customer_wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("ring_s", sa.Float(), nullable=True),
        sa.Column("agents_no_answer", JSON, nullable=False),
        sa.Column("abandon_reason", sa.String(16), nullable=True),
        sa.Column("drop_message_played", sa.Boolean(), nullable=True),
        sa.Column("plan_snapshot", JSON, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("disposition", sa.String(64), nullable=True),
        sa.Column("disposition_note", sa.Text(), nullable=True),
        sa.Column("disposition_at", TS, nullable=True),
        sa.Column("disposition_by", sa.String(200), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            _in("state", "originating", "ringing", "answered", "queued", "connected", "ended"),
            name=op.f("ck_calls_state"),
        ),
        sa.CheckConstraint(
            _in(
                "outcome",
                "CONNECTED",
                "ABANDONED",
                "NO_ANSWER",
                "BUSY",
                "CONGESTION",
                "INVALID_NUMBER",
                "FAILED",
                "CANCELLED",
                "MACHINE",
            ),
            name=op.f("ck_calls_outcome"),
        ),
        sa.CheckConstraint(
            _in("abandon_reason", "timeout", "caller_hangup", "not_queued", "unknown"), name=op.f("ck_calls_abandon_reason")
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_calls_attempt")),
        _fk("calls", "campaign_id", "campaigns", "RESTRICT"),
        _fk("calls", "contact_id", "contacts", "SET NULL"),
        _fk("calls", "contact_number_id", "contact_numbers", "SET NULL"),
        _fk("calls", "agent_id", "agents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    op.create_index("ix_calls_campaign_id_originated_at", "calls", ["campaign_id", "originated_at"])
    op.create_index("ix_calls_contact_id", "calls", ["contact_id"])
    op.create_index("ix_calls_outcome", "calls", ["outcome"])
    op.create_index("ix_calls_agent_id", "calls", ["agent_id"])
    # The no-double-dial guarantee: at most one open call per contact.
    op.create_index(
        "ux_calls_open_contact",
        "calls",
        ["contact_id"],
        unique=True,
        sqlite_where=OPEN_CALL,
        postgresql_where=OPEN_CALL,
    )
    op.create_index(
        "ix_calls_open_server",
        "calls",
        ["server"],
        sqlite_where=OPEN_CALL,
        postgresql_where=OPEN_CALL,
    )

    op.create_table(
        "dnc_numbers",
        sa.Column("id", ID, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("campaign_id", ID, nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *_timestamps(),
        _fk("dnc_numbers", "campaign_id", "campaigns", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_numbers")),
        sa.UniqueConstraint(
            "number", "campaign_id", name=op.f("uq_dnc_numbers_number_campaign_id")
        ),
    )
    op.create_index("ix_dnc_numbers_campaign_id", "dnc_numbers", ["campaign_id"])
    # unique(number, campaign_id) lets NULLs repeat; this keeps global numbers unique.
    op.create_index(
        "ux_dnc_numbers_global_number",
        "dnc_numbers",
        ["number"],
        unique=True,
        sqlite_where=GLOBAL_DNC,
        postgresql_where=GLOBAL_DNC,
    )

    op.create_table(
        "dnc_checks",
        sa.Column("id", ID, nullable=False),
        sa.Column("call_id", ID, nullable=True),
        sa.Column("campaign_id", ID, nullable=True),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("checked_at", TS, nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("matched_list", sa.String(80), nullable=True),
        sa.CheckConstraint(_in("result", "clear", "blocked"), name=op.f("ck_dnc_checks_result")),
        _fk("dnc_checks", "campaign_id", "campaigns", "SET NULL"),
        _fk("dnc_checks", "contact_id", "contacts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_checks")),
    )
    for column in ("call_id", "campaign_id", "contact_id", "checked_at"):
        op.create_index(f"ix_dnc_checks_{column}", "dnc_checks", [column])

    op.create_table(
        "callbacks",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            _in("status", "scheduled", "done", "cancelled"), name=op.f("ck_callbacks_status")
        ),
        _fk("callbacks", "contact_id", "contacts", "CASCADE"),
        _fk("callbacks", "campaign_id", "campaigns", "CASCADE"),
        _fk("callbacks", "agent_id", "agents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index("ix_callbacks_contact_id", "callbacks", ["contact_id"])
    op.create_index("ix_callbacks_agent_id", "callbacks", ["agent_id"])
    op.create_index(
        "ix_callbacks_campaign_status_due", "callbacks", ["campaign_id", "status", "due_at"]
    )


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "callbacks",
        "dnc_checks",
        "dnc_numbers",
        "calls",
        "contact_numbers",
        "contacts",
        "campaign_agents",
        "campaign_dial_lists",
        "campaigns",
        "disposition_codes",
        "api_keys",
        "agents",
        "dial_lists",
        "plans",
    ):
        op.drop_table(table)
