"""Answering-machine detection: a plan's AMD action and NOTSURE rule, a call's AMD verdict.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("amd", sa.String(length=16), nullable=False, server_default="off"))
        batch.add_column(sa.Column("amd_message", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("amd_notsure", sa.String(length=16), nullable=False, server_default="agent"))
        batch.create_check_constraint(op.f("ck_plans_amd"), "amd IN ('off', 'hangup', 'message', 'agent')")
        batch.create_check_constraint(op.f("ck_plans_amd_notsure"), "amd_notsure IN ('agent', 'machine')")
        batch.add_column(sa.Column("amd_false_positive_share", sa.Float(), nullable=False, server_default="0.03"))
        batch.create_check_constraint(op.f("ck_plans_amd_message"), "amd <> 'message' OR amd_message IS NOT NULL")
        batch.create_check_constraint(
            op.f("ck_plans_amd_false_positive_share"), "amd_false_positive_share >= 0 AND amd_false_positive_share <= 1"
        )
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("amd_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("amd_cause", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("amd_cause")
        batch.drop_column("amd_status")
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint(op.f("ck_plans_amd_false_positive_share"), type_="check")
        batch.drop_constraint(op.f("ck_plans_amd_message"), type_="check")
        batch.drop_constraint(op.f("ck_plans_amd_notsure"), type_="check")
        batch.drop_constraint(op.f("ck_plans_amd"), type_="check")
        batch.drop_column("amd_false_positive_share")
        batch.drop_column("amd_notsure")
        batch.drop_column("amd_message")
        batch.drop_column("amd")
