"""Owned callbacks reach their owner: a plan's callback queue and owner timeout, a call's agent it was placed for.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
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
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("for_agent_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key(op.f("fk_calls_for_agent_id_agents"), "agents", ["for_agent_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_calls_for_agent_id"), ["for_agent_id"])


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_index(op.f("ix_calls_for_agent_id"))
        batch.drop_constraint(op.f("fk_calls_for_agent_id_agents"), type_="foreignkey")
        batch.drop_column("for_agent_id")
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint(op.f("ck_plans_callback_owner_timeout_s"), type_="check")
        batch.drop_column("callback_owner_timeout_s")
        batch.drop_column("callback_queue")
