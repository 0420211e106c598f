"""Migration scripts, oldest first. Each is hand-checked on SQLite and PostgreSQL."""
