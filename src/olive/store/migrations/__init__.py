"""olive's Alembic migrations (run them with ``olive db upgrade`` or ``olive.store.migrate``)."""
