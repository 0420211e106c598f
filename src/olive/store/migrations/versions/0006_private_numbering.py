"""Dial lists may follow a private numbering plan (lab or internal numbers such as 1001).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dial_lists") as batch:
        batch.add_column(sa.Column("numbering", sa.String(length=8), nullable=False, server_default="e164"))


def downgrade() -> None:
    with op.batch_alter_table("dial_lists") as batch:
        batch.drop_column("numbering")
