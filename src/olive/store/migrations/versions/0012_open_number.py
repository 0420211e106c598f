"""Numbers on a call: ``ix_calls_open_number``, a partial index on ``calls(number)`` for open calls.

Each dialing tick asks which of its candidates' numbers have a call in
flight (in any campaign), so one number is never dialed twice at once. The
open calls are a few thousand at most, however many calls the table keeps;
this index holds only them, so the question costs one small index probe per
number.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_CALL = sa.text("ended_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_calls_open_number",
        "calls",
        ["number"],
        sqlite_where=OPEN_CALL,
        postgresql_where=OPEN_CALL,
    )


def downgrade() -> None:
    op.drop_index("ix_calls_open_number", table_name="calls")
