"""Agentless campaigns: the agentless dial mode, a plan's message and keys, a call's key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MODES = ("progressive", "power", "predictive")
_OUTCOMES = ("CONNECTED", "ABANDONED", "NO_ANSWER", "BUSY", "CONGESTION", "INVALID_NUMBER", "FAILED", "CANCELLED", "MACHINE")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("message", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("ivr_prompt", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("ivr_agent_key", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("ivr_optout_key", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("ivr_timeout_s", sa.Integer(), nullable=False, server_default="5"))
        batch.drop_constraint(op.f("ck_plans_dial_mode"), type_="check")
        batch.create_check_constraint(op.f("ck_plans_dial_mode"), _in("dial_mode", (*_MODES, "agentless")))
        batch.create_check_constraint(op.f("ck_plans_message"), "dial_mode <> 'agentless' OR message IS NOT NULL")
        batch.create_check_constraint(op.f("ck_plans_ivr_timeout_s"), "ivr_timeout_s BETWEEN 1 AND 60")
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("ivr_key", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("ivr_status", sa.String(length=16), nullable=True))
        batch.drop_constraint(op.f("ck_calls_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_calls_outcome"), _in("outcome", (*_OUTCOMES, "MESSAGE")))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM plans WHERE dial_mode = 'agentless'")).scalar() or bind.execute(
        sa.text("SELECT count(*) FROM calls WHERE outcome = 'MESSAGE'")
    ).scalar():
        raise RuntimeError("agentless plans or MESSAGE calls exist: the schema before 0009 cannot hold them")
    with op.batch_alter_table("calls") as batch:
        batch.drop_constraint(op.f("ck_calls_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_calls_outcome"), _in("outcome", _OUTCOMES))
        batch.drop_column("ivr_status")
        batch.drop_column("ivr_key")
    with op.batch_alter_table("plans") as batch:
        batch.drop_constraint(op.f("ck_plans_ivr_timeout_s"), type_="check")
        batch.drop_constraint(op.f("ck_plans_message"), type_="check")
        batch.drop_constraint(op.f("ck_plans_dial_mode"), type_="check")
        batch.create_check_constraint(op.f("ck_plans_dial_mode"), _in("dial_mode", _MODES))
        batch.drop_column("ivr_timeout_s")
        batch.drop_column("ivr_optout_key")
        batch.drop_column("ivr_agent_key")
        batch.drop_column("ivr_prompt")
        batch.drop_column("message")
