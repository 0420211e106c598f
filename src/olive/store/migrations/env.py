"""Alembic environment: configured in code by ``olive.store._db`` (no alembic.ini).

``olive.store.migrate`` passes an open connection in
``config.attributes["connection"]``; without one, the database comes from
``sqlalchemy.url`` or ``$OLIVE_DATABASE_URL``. SQLite runs in batch mode so
later migrations can alter tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from olive.store._db import database_url, make_engine
from olive.store._models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    engine = make_engine(database_url(context.config.get_main_option("sqlalchemy.url")))
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=database_url(context.config.get_main_option("sqlalchemy.url")),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_online()
