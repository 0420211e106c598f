"""``olive demo``: a whole campaign against the built-in simulated Asterisk, in minutes."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import typer

from olive.cli._common import console, err_console, settle_heap, setup_logging


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        agents: int = typer.Option(10, min=1, max=200, help="Agents in the demo team."),
        contacts: int = typer.Option(1000, min=1, max=100_000, help="Contacts to call."),
        speed: float = typer.Option(60.0, min=1.0, max=200.0, help="How much faster than real time."),
        mode: str = typer.Option("predictive", help="Dial mode: progressive, power or predictive."),
        db: Path = typer.Option(Path("olive-demo.db"), help="The demo's SQLite file (replaced on each run)."),
        api_port: int = typer.Option(8765, help="Serve the REST API here (0: no API)."),
        seed: int = typer.Option(1, help="Seed of the contacts and the simulated customers."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log AMI and engine activity (above the live view)."),
    ) -> None:
        """Run a demo campaign (10 agents, 1,000 contacts) against olive's simulated Asterisk.

        Nothing else to install: the simulator, the engine and the API run in this
        process on one SQLite file. Ctrl-C stops dialing; Ctrl-C again quits.
        """
        if mode not in ("progressive", "power", "predictive"):
            err_console.print(f"[red]unknown dial mode {mode!r}")
            raise typer.Exit(2)
        if api_port:
            from olive.api._server import unavailable

            if (why := unavailable("127.0.0.1", api_port)) is not None:
                err_console.print(
                    f"[red]olive demo: cannot serve the API on 127.0.0.1:{api_port}: {why}[/] "
                    "(another olive demo or serve?). Pass --api-port with a free port, or --api-port 0 for no API.",
                    soft_wrap=True,
                )
                raise typer.Exit(2)
        setup_logging(verbose)
        asyncio.run(_demo(agents, contacts, speed, mode, db, api_port, seed))


async def _demo(agents: int, contacts: int, speed: float, mode: str, db: Path, api_port: int, seed: int) -> None:
    from olive.ami import ServerConfig
    from olive.cli._drive import drive, print_summary
    from olive.clock import ScaledClock
    from olive.compliance import ComplianceGuard
    from olive.demo import demo_start, install_demo
    from olive.engine import Engine
    from olive.sim import SimulatedPBX
    from olive.store import create_api_key, make_engine, make_sessionmaker, migrate, transaction

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = make_engine(f"sqlite:///{db}")
    migrate(store)
    sessions = make_sessionmaker(store)
    with transaction(sessions) as session:
        campaign_id = install_demo(session, agents=agents, contacts=contacts, mode=mode, seed=seed)
        _, api_key = create_api_key(session, "demo", "admin")
    clock = ScaledClock(speed, start=demo_start())
    pbx = SimulatedPBX("default", clock=clock, secret="demo", seed=seed, keep_actions=10_000)
    port = await pbx.start()
    engine = Engine(sessions, {"default": ServerConfig("127.0.0.1", port, "olive", "demo")}, clock=clock, guard=ComplianceGuard())
    api_task: asyncio.Task[None] | None = None
    server = None
    if api_port:
        from olive.api import create_app, make_api_sessions
        from olive.api._server import make_server

        server = make_server(create_app(make_api_sessions(f"sqlite:///{db}"), engine, manage_engine=False), "127.0.0.1", api_port, log_level="warning", access_log=False)
        api_task = asyncio.create_task(server.serve())
    console.print(
        f"[bold]olive demo[/]: {agents} agents, {contacts} contacts, {mode} dialing, "
        f"simulated Asterisk on 127.0.0.1:{port}, x{speed:g} speed"
    )
    if server is not None:
        console.print(
            f"REST API on http://127.0.0.1:{api_port}/docs   dashboard http://127.0.0.1:{api_port}/dashboard\n"
            f"API key (admin, this demo only): [bold]{api_key}[/]"
        )
    await engine.start()
    settle_heap()
    try:
        final = await drive(engine, sessions, campaign_id)
    finally:
        await engine.stop()
        if server is not None:
            server.should_exit = True
        if api_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(api_task, 5)
        await pbx.stop()
    print_summary(final)
    console.print(f"Records: [bold]olive calls --campaign demo --database-url sqlite:///{db}[/]")
