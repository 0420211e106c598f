"""Contacts counted by dial list and status, kept by the database itself.

The campaign report (``olive run`` polls it) read one index entry per contact
(270 ms at 1M contacts). Now ``contact_counts`` holds the counts, and
triggers on ``contacts`` keep them in the same transaction as every insert,
delete and status change, whoever makes it (engine, API, imports, cascades).

SQLite has one writer at a time, so each (dial list, status) keeps one row,
updated in place. PostgreSQL has concurrent writers: a single counter row per
status would make the engine's claims, the API and imports wait on each other
(and deadlock). There each statement appends its net change as new rows,
which never conflict; readers add the rows up, and
:func:`olive.store.contact_status_counts` folds them back into one row per
status now and then.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = [
    # One row per (list, status): made when first needed, then updated in place.
    """
    CREATE TRIGGER contact_counts_insert AFTER INSERT ON contacts BEGIN
      INSERT INTO contact_counts (dial_list_id, status, n)
        SELECT NEW.dial_list_id, NEW.status, 0 WHERE NOT EXISTS (
          SELECT 1 FROM contact_counts WHERE dial_list_id = NEW.dial_list_id AND status = NEW.status);
      UPDATE contact_counts SET n = n + 1 WHERE id = (
        SELECT min(id) FROM contact_counts WHERE dial_list_id = NEW.dial_list_id AND status = NEW.status);
    END
    """,
    """
    CREATE TRIGGER contact_counts_delete AFTER DELETE ON contacts BEGIN
      UPDATE contact_counts SET n = n - 1 WHERE id = (
        SELECT min(id) FROM contact_counts WHERE dial_list_id = OLD.dial_list_id AND status = OLD.status);
    END
    """,
    """
    CREATE TRIGGER contact_counts_update AFTER UPDATE OF status, dial_list_id ON contacts
    WHEN OLD.status IS NOT NEW.status OR OLD.dial_list_id IS NOT NEW.dial_list_id BEGIN
      UPDATE contact_counts SET n = n - 1 WHERE id = (
        SELECT min(id) FROM contact_counts WHERE dial_list_id = OLD.dial_list_id AND status = OLD.status);
      INSERT INTO contact_counts (dial_list_id, status, n)
        SELECT NEW.dial_list_id, NEW.status, 0 WHERE NOT EXISTS (
          SELECT 1 FROM contact_counts WHERE dial_list_id = NEW.dial_list_id AND status = NEW.status);
      UPDATE contact_counts SET n = n + 1 WHERE id = (
        SELECT min(id) FROM contact_counts WHERE dial_list_id = NEW.dial_list_id AND status = NEW.status);
    END
    """,
]

_POSTGRESQL = [
    # One statement, one append of its net change per (list, status): no row is ever
    # updated, so concurrent writers never wait on each other here.
    """
    CREATE FUNCTION olive_contact_counts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_counts (dial_list_id, status, n)
          SELECT dial_list_id, status, count(*) FROM new_rows GROUP BY dial_list_id, status;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO contact_counts (dial_list_id, status, n)
          SELECT dial_list_id, status, -count(*) FROM old_rows GROUP BY dial_list_id, status;
      ELSE
        INSERT INTO contact_counts (dial_list_id, status, n)
          SELECT dial_list_id, status, sum(d) FROM (
            SELECT dial_list_id, status, -1 AS d FROM old_rows
            UNION ALL SELECT dial_list_id, status, 1 FROM new_rows) AS change
          GROUP BY dial_list_id, status HAVING sum(d) <> 0;
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER contact_counts_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION olive_contact_counts()
    """,
    """
    CREATE TRIGGER contact_counts_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION olive_contact_counts()
    """,
    """
    CREATE TRIGGER contact_counts_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION olive_contact_counts()
    """,
]


def upgrade() -> None:
    op.create_table(
        "contact_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("dial_list_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_counts")),
    )
    op.create_index("ix_contact_counts_list", "contact_counts", ["dial_list_id", "status", "n"])
    op.execute(
        "INSERT INTO contact_counts (dial_list_id, status, n) "
        "SELECT dial_list_id, status, count(*) FROM contacts GROUP BY dial_list_id, status"
    )
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for name in ("contact_counts_insert", "contact_counts_delete", "contact_counts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON contacts" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS olive_contact_counts()")
    op.drop_index("ix_contact_counts_list", table_name="contact_counts")
    op.drop_table("contact_counts")
