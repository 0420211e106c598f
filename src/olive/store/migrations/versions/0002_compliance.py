"""Compliance: dispositions take effect once, callbacks know the call that served
them, disposition codes carry their retry delay, and calls are found by number
(the uk-ofcom 72-hour lockout looks up abandoned calls to a number).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=40)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("disposition_applied_at", TS, nullable=True))
    op.create_index("ix_calls_number", "calls", ["number"])
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("call_id", ID, nullable=True))
        batch.add_column(sa.Column("source_call_id", ID, nullable=True))
    with op.batch_alter_table("disposition_codes") as batch:
        batch.add_column(sa.Column("retry_delay_s", sa.Integer(), nullable=False, server_default="3600"))


def downgrade() -> None:
    with op.batch_alter_table("disposition_codes") as batch:
        batch.drop_column("retry_delay_s")
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("source_call_id")
        batch.drop_column("call_id")
    op.drop_index("ix_calls_number", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("disposition_applied_at")
