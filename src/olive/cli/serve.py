"""``olive serve``: the REST API and the dialing engine in one process.

Settings come from flags, then the environment, then a TOML file
(``--config`` or ``OLIVE_CONFIG``); see docs/api.md and ``olive.api._config``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from olive.cli._common import err_console

LOG_LEVELS = ("debug", "info", "warning", "error")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, "--host", help="Address to listen on (env OLIVE_HOST; default 127.0.0.1)."),
        port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (env OLIVE_PORT; default 8080)."),
        database_url: str | None = typer.Option(
            None, "--database-url", help="SQLAlchemy URL (env OLIVE_DATABASE_URL; default sqlite:///olive.db)."
        ),
        asterisk: list[str] = typer.Option(
            [],
            "--asterisk",
            help="An Asterisk server, ami://USER@HOST:PORT/NAME?secret_env=VAR (repeatable; env OLIVE_ASTERISK).",
        ),
        config: Path | None = typer.Option(None, "--config", help="A TOML settings file (env OLIVE_CONFIG)."),
        node: str | None = typer.Option(
            None, "--node", help="This node's name among several on one database (env OLIVE_NODE; default host:pid)."
        ),
        log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    ) -> None:
        """Serve the REST API (docs at /docs) and run the dialing engine."""
        import asyncio

        from rich.markup import escape

        from olive.api._config import ConfigError, load_settings

        if log_level.lower() not in LOG_LEVELS:
            err_console.print(f"[red]olive serve: --log-level is one of {', '.join(LOG_LEVELS)}, not {log_level!r}", soft_wrap=True)
            raise typer.Exit(2)
        try:
            settings = load_settings(
                config=config, host=host, port=port, database_url=database_url, asterisk=asterisk, node=node
            )
        except ConfigError as exc:
            err_console.print(f"[red]olive serve: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(2) from None
        from olive.api._server import unavailable

        if (why := unavailable(settings.host, settings.port)) is not None:
            err_console.print(f"[red]olive serve: cannot listen on {settings.host}:{settings.port}: {why}", soft_wrap=True)
            raise typer.Exit(2)
        asyncio.run(_serve(settings, log_level.lower()))


async def _serve(settings: object, log_level: str) -> None:
    import logging

    from sqlalchemy.exc import OperationalError

    from olive.api import create_app, make_api_sessions
    from olive.api._config import ServeSettings
    from olive.api._server import make_server
    from olive.cli._common import engine_pool, open_store
    from olive.engine import DialingLease, Engine
    from olive.store import ServerLimits, database_url, register_servers, safe_url, transaction

    assert isinstance(settings, ServeSettings)
    logging.basicConfig(
        level=logging.DEBUG if log_level == "debug" else logging.INFO if log_level == "info" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl." is not news
    try:
        sessions = open_store(settings.database_url)
    except OperationalError as exc:
        err_console.print(f"[red]olive serve: cannot use the database {safe_url(settings.database_url)}: {exc.orig}", soft_wrap=True)
        raise typer.Exit(2) from None
    # One node dials per database: a second olive serve refuses to start (docs/operations.md).
    engine_sessions = engine_pool(sessions)
    lease = DialingLease(engine_sessions, settings.node)
    if not lease.acquire():
        err_console.print(f"[red]olive serve: refusing to start: {lease.note}", soft_wrap=True)
        raise typer.Exit(3)
    with transaction(sessions) as session:  # the server pool as configured, for every node to see
        register_servers(session, {name: settings.limits.get(name, ServerLimits()) for name in settings.asterisk})
    engine = Engine(engine_sessions, settings.asterisk, pause_after_missed=settings.pause_after_missed, lease=lease)
    # Requests get their own pool, with short waits: API load cannot take the engine's connections.
    app = create_app(make_api_sessions(database_url(settings.database_url)), engine)
    for line in settings.describe():
        err_console.print(f"olive serve: {line}", soft_wrap=True)
    server = make_server(
        app,
        settings.host,
        settings.port,
        log_level=log_level,
        on_started=lambda url: err_console.print(f"olive serve: listening on {url}", soft_wrap=True),
    )
    await server.serve()


__all__ = ["register"]
