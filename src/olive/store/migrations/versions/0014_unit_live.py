"""A unit's live figures: ``unit_live``, written by the unit's lease holder, read by every node's API.

On ``--scale-out`` nodes a campaign's pacers run in its units' engines, on
whichever nodes hold them; any node's API answers a campaign's live status
from these rows (docs/scale-out.md, "A campaign's live figures"). One row per
unit, written over every couple of seconds under the unit's lease (fenced:
the writer's node and token), and gone with its unit.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "unit_live",
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("server", sa.String(length=80), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("live_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id", "server"],
            ["units.campaign_id", "units.server"],
            name=op.f("fk_unit_live_campaign_id_server_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "server", name=op.f("pk_unit_live")),
    )


def downgrade() -> None:
    op.drop_table("unit_live")
