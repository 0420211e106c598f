"""Owned callbacks reach their owner (a plan's callback queue and owner timeout, a call's agent it was
placed for) and preview mode (a plan's dial mode and preview timeout, the previews table).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC = sa.DateTime(timezone=True)

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing plans keep today's routing (no callback queue): their Asterisk may not have one.
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("callback_queue", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("callback_owner_timeout_s", sa.Float(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_plans_callback_owner_timeout_s"), "callback_owner_timeout_s IS NULL OR callback_owner_timeout_s >= 0"
        )
        batch.add_column(sa.Column("preview_timeout_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("preview_timeout_action", sa.String(length=16), nullable=False, server_default="skip"))
        batch.create_check_constraint(op.f("ck_plans_preview_timeout_s"), "preview_timeout_s IS NULL OR preview_timeout_s > 0")
        batch.create_check_constraint(op.f("ck_plans_preview_timeout_action"), "preview_timeout_action IN ('skip', 'dial')")
        batch.drop_constraint(op.f("ck_plans_dial_mode"), type_="check")
        batch.create_check_constraint(op.f("ck_plans_dial_mode"), "dial_mode IN ('progressive', 'power', 'predictive', 'agentless', 'preview')")
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("for_agent_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key(op.f("fk_calls_for_agent_id_agents"), "agents", ["for_agent_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_calls_for_agent_id"), ["for_agent_id"])

    op.create_table(
        "previews",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("offered_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("call_id", sa.String(length=40), nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "status IN ('offered', 'dialed', 'skipped', 'expired', 'refused', 'withdrawn')", name=op.f("ck_previews_status")
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_previews_agent_id_agents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_previews_campaign_id_campaigns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_previews_contact_id_contacts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_previews")),
    )
    op.create_index("ix_previews_agent_status", "previews", ["agent_id", "status"])
    op.create_index("ix_previews_contact_status", "previews", ["contact_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_previews_contact_status", table_name="previews")
    op.drop_index("ix_previews_agent_status", table_name="previews")
    op.drop_table("previews")
    with op.batch_alter_table("calls") as batch:
        batch.drop_index(op.f("ix_calls_for_agent_id"))
        batch.drop_constraint(op.f("fk_calls_for_agent_id_agents"), type_="foreignkey")
        batch.drop_column("for_agent_id")
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint(op.f("ck_plans_dial_mode"), type_="check")
        batch.create_check_constraint(op.f("ck_plans_dial_mode"), "dial_mode IN ('progressive', 'power', 'predictive', 'agentless')")
        batch.drop_constraint(op.f("ck_plans_preview_timeout_action"), type_="check")
        batch.drop_constraint(op.f("ck_plans_preview_timeout_s"), type_="check")
        batch.drop_column("preview_timeout_action")
        batch.drop_column("preview_timeout_s")
        batch.drop_constraint(op.f("ck_plans_callback_owner_timeout_s"), type_="check")
        batch.drop_column("callback_owner_timeout_s")
        batch.drop_column("callback_queue")
