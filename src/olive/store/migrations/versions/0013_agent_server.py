"""Agents belong to a server: ``agents.server``, the Asterisk server their phone registers on.

A campaign that dials through several servers (one unit each,
docs/scale-out.md) paces, on each server, the campaign's agents whose phones
are there, and queues an answered call on that server. NULL: the agent is on
their campaign's first server (``campaigns.server``), so a single-server
set-up changes nothing. No foreign key to ``servers``: that table holds the
servers of ``olive serve`` configurations, and agents may be written before
any node started (the API checks the name against it when it is not empty).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("server", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("server")
