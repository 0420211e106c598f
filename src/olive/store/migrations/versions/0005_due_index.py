"""Contacts picked by index: ``ix_contacts_due`` gains ``id``, so it matches the
order the engine reads due contacts in (dial list, status, next attempt, id)
and picking the next few no longer sorts every pending contact.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_contacts_due", table_name="contacts")
    op.create_index("ix_contacts_due", "contacts", ["dial_list_id", "status", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_contacts_due", table_name="contacts")
    op.create_index("ix_contacts_due", "contacts", ["dial_list_id", "status", "next_attempt_at"])
