"""``olive serve``: the REST API and the dialing engine in one process.

Settings come from flags, then the environment, then a TOML file
(``--config`` or ``OLIVE_CONFIG``); see docs/api.md and ``olive.api._config``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from olive.cli._common import err_console, settle_heap

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
        scale_out: bool = typer.Option(
            False,
            "--scale-out",
            help="Dial as one node of several on one PostgreSQL: hold a share of the units (campaign x server) "
            "instead of the single dialing lease (env OLIVE_SCALE_OUT=1; docs/scale-out.md).",
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
        import os

        scale_out = scale_out or os.environ.get("OLIVE_SCALE_OUT", "") in ("1", "true", "yes")
        asyncio.run(_serve(settings, log_level.lower(), scale_out=scale_out))


def _unit_ttl_s() -> float:
    """The unit leases' time to live: ``OLIVE_UNIT_TTL_S`` (tests may change it), else 6 s."""
    import math
    import os

    from olive.engine._node import UNIT_TTL_S

    raw = os.environ.get("OLIVE_UNIT_TTL_S")
    try:
        ttl = float(raw) if raw else UNIT_TTL_S
    except ValueError:
        ttl = math.nan
    if not math.isfinite(ttl) or ttl < 1.5:
        err_console.print(f"[red]olive serve: OLIVE_UNIT_TTL_S is a number of seconds >= 1.5, got {raw!r}", soft_wrap=True)
        raise typer.Exit(2)
    return ttl


async def _serve(settings: object, log_level: str, *, scale_out: bool = False) -> None:
    import logging

    from sqlalchemy.exc import OperationalError

    from olive.api import create_app, make_api_sessions
    from olive.api._config import ServeSettings
    from olive.api._server import make_server
    from olive.cli._common import engine_pool, open_store
    from olive.engine import DialingLease, Engine
    from olive.store import (
        ServerLimits,
        database_url,
        register_servers,
        safe_url,
        scale_out_in_use,
        transaction,
    )

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
    engine_sessions = engine_pool(sessions)
    if scale_out:
        await _serve_node(settings, sessions, engine_sessions, log_level)
        return
    # One node dials per database: a second olive serve refuses to start (docs/operations.md).
    lease = DialingLease(engine_sessions, settings.node)
    if not lease.acquire():
        err_console.print(f"[red]olive serve: refusing to start: {lease.note}", soft_wrap=True)
        raise typer.Exit(3)
    # Lease first, then the check: a --scale-out node starting at the same moment checks for the
    # lease after registering, so of two racing starts the later check sees the other.
    with transaction(engine_sessions) as session:
        mixed = scale_out_in_use(session)
    if mixed is not None:
        lease.release()
        err_console.print(
            f"[red]olive serve: refusing to start: {mixed}. One database has either one classic node or "
            "scale-out nodes, never both: start this node with --scale-out too, or stop the scale-out nodes "
            "first (GET /pool lists them; their leases end within seconds of a clean stop)",
            soft_wrap=True,
        )
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
        on_started=started,
    )
    await server.serve()


def started(url: str) -> None:
    """The API listens and the engine runs: what start-up built stays (settle_heap)."""
    settle_heap()
    err_console.print(f"olive serve: listening on {url}", soft_wrap=True)


async def _serve_node(settings: object, sessions: object, engine_sessions: object, log_level: str) -> None:
    """``--scale-out``: the API, and one engine per unit this node holds (docs/scale-out.md)."""
    import asyncio
    import threading
    import time
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session, sessionmaker

    from olive.api import create_app, make_api_sessions
    from olive.api._config import ServeSettings
    from olive.api._server import make_server
    from olive.engine import DialingLease, Engine, NodeRunner, default_node_name
    from olive.engine._probe import ServerProbes
    from olive.engine._unit import NotDialing, UnitEngines, run_node
    from olive.engine._unit_hangup import PoolView, listen_for_hangups
    from olive.engine._unit_scope import UnitScope
    from olive.store import (
        ServerLimits,
        database_url,
        leave_node,
        live_dialing_lease,
        register_node,
        register_servers,
        transaction,
    )

    assert isinstance(settings, ServeSettings)
    assert isinstance(sessions, sessionmaker) and isinstance(engine_sessions, sessionmaker)
    api_side: sessionmaker[Session] = sessions
    unit_side: sessionmaker[Session] = engine_sessions
    if unit_side.kw["bind"].url.get_backend_name() != "postgresql":
        err_console.print("[red]olive serve: --scale-out needs PostgreSQL (the nodes coordinate through it)", soft_wrap=True)
        raise typer.Exit(2)
    ttl = _unit_ttl_s()
    name = settings.node or default_node_name()
    with transaction(api_side) as session:  # the server pool as configured, for every node to see
        register_servers(session, {n: settings.limits.get(n, ServerLimits()) for n in settings.asterisk})

    def make_engine(scope: UnitScope) -> Engine:
        config = settings.asterisk.get(scope.server)
        servers = {} if config is None else {scope.server: config}
        return Engine(unit_side, servers, pause_after_missed=settings.pause_after_missed, unit=scope)

    units = UnitEngines(asyncio.get_running_loop(), make_engine)
    units.probes = ServerProbes(settings.asterisk)  # which servers this node reaches, units or not
    runner = NodeRunner(unit_side, name, units, ttl_s=ttl, stop_early_s=ttl / 3)
    # Register first, then look for a classic node (which takes its lease, then looks for nodes):
    # of two racing starts, the later check sees the other.
    with transaction(unit_side) as session:
        runner.registered = register_node(session, name, runner.instance, ttl)
    with transaction(unit_side) as session:
        classic = live_dialing_lease(session, time.time())
    if classic is not None:
        with transaction(unit_side) as session:
            leave_node(session, name, runner.instance)
        err_console.print(
            f"[red]olive serve: refusing to start: node {classic.node} dials this database as a classic node "
            f"(it holds the dialing lease until {datetime.fromtimestamp(classic.expires_at, UTC):%H:%M:%S} UTC). "
            "One database has either one classic node or scale-out nodes, never both: stop it first "
            "(the lease is released at a clean stop), or start this node without --scale-out",
            soft_wrap=True,
        )
        raise typer.Exit(3)
    # The API's engine places no call: it is the operators' view and verbs; the units dial.
    lease: DialingLease = NotDialing(unit_side, name)
    view = PoolView(unit_side, {}, pause_after_missed=settings.pause_after_missed, lease=lease)
    app = create_app(make_api_sessions(database_url(settings.database_url)), view)
    view.on_tick = None  # /metrics' engine ticks are the units' (the view's place no call)
    units.on_tick = app.state.olive.metrics.observe_tick
    for line in settings.describe():
        err_console.print(f"olive serve: {line}", soft_wrap=True)
    err_console.print(f"olive serve: scale-out node {name}: unit leases of {ttl:g} s", soft_wrap=True)
    stopping = asyncio.Event()

    # Forced stops asked on any node reach the owners of the campaign's units (engine/_unit_hangup.py).
    not_listening = threading.Event()
    listener = asyncio.create_task(
        asyncio.to_thread(listen_for_hangups, unit_side.kw["bind"].url, units.hangup, not_listening), name="olive-hangups"
    )

    async def leave() -> None:  # SIGTERM: stop dialing, release the units, then the API stops
        stopping.set()
        await node
        not_listening.set()
        await listener

    server = make_server(
        app,
        settings.host,
        settings.port,
        log_level=log_level,
        on_started=started,
        on_stopping=leave,
    )
    node = asyncio.create_task(run_node(runner, units, stopping), name="olive-node")
    try:
        await server.serve()
    finally:
        await leave()


__all__ = ["register"]
