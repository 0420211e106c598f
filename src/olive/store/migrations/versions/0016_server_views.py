"""Each node's view of each server: ``server_views``.

On ``--scale-out`` nodes several nodes may hold units on one server and see it
differently (a partition); each writes its own view, and ``servers.health`` is
combined from the views that count (docs/scale-out.md, "Server health"), so
it no longer flips with whoever wrote last.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_views",
        sa.Column("server", sa.String(length=80), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("health IN ('unknown', 'up', 'down')", name=op.f("ck_server_views_health")),
        sa.ForeignKeyConstraint(
            ["server"], ["servers.name"], name=op.f("fk_server_views_server_servers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("server", "node", name=op.f("pk_server_views")),
    )


def downgrade() -> None:
    op.drop_table("server_views")
