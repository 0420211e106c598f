"""Scale-out: the server pool, the olive nodes, units of work with fenced leases (issue 15).

``servers`` (limits and health), ``nodes`` (heartbeats), ``units`` (one
campaign on one server: owner, fencing token, expiry), and on ``contacts``
the server and token of the lease that claimed them. See docs/scale-out.md.

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

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("max_channels", sa.Integer(), nullable=True),
        sa.Column("max_cps", sa.Float(), nullable=True),
        sa.Column("cps_tokens", sa.Float(), nullable=True),
        sa.Column("cps_at", TS, nullable=True),
        sa.Column("health", sa.String(length=16), server_default="unknown", nullable=False),
        sa.Column("health_note", sa.String(length=200), nullable=True),
        sa.Column("health_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("max_channels IS NULL OR max_channels > 0", name=op.f("ck_servers_max_channels")),
        sa.CheckConstraint("max_cps IS NULL OR max_cps > 0", name=op.f("ck_servers_max_cps")),
        sa.CheckConstraint("health IN ('unknown', 'up', 'down')", name=op.f("ck_servers_health")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_servers")),
    )
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("starts", sa.BigInteger(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_nodes")),
    )
    op.create_table(
        "units",
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("server", sa.String(length=80), nullable=False),
        sa.Column("owner_node", sa.String(length=200), nullable=True),
        sa.Column("token", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("acquired_at", TS, nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.CheckConstraint("token >= 0", name=op.f("ck_units_token")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_units_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["server"], ["servers.name"], name=op.f("fk_units_server_servers"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("campaign_id", "server", name=op.f("pk_units")),
    )
    # Plain ALTERs, not a batch: rebuilding contacts on SQLite would drop its count triggers (0007).
    op.add_column("contacts", sa.Column("claim_server", sa.String(length=80), nullable=True))
    op.add_column("contacts", sa.Column("claim_token", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("contacts", "claim_token")  # SQLite >= 3.35 drops a column in place
    op.drop_column("contacts", "claim_server")
    op.drop_table("units")
    op.drop_table("nodes")
    op.drop_table("servers")
