"""``olive sim``: run the simulated Asterisk 22 PBX (AMI over TCP) until Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)


def sim(
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario", "-s",
            help="A scenario TOML file, or a built-in one: 'default' (the demo's callers) or 'lab' "
            "(the dialplan the Asterisk 22 recordings were made with).",
        ),
    ] = "default",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="AMI port (0: any free port).")] = 5038,
    username: Annotated[str, typer.Option("--username", help="The AMI account's name.")] = "olive",
    secret: Annotated[str, typer.Option("--secret", help="The AMI account's secret.")] = "olive",
    scale: Annotated[
        float | None,
        typer.Option("--scale", min=0.001, help="Simulated seconds per real second (default: the scenario's)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the scenario's).")] = None,
    originate_log: Annotated[
        Path | None,
        typer.Option(
            "--originate-log",
            help="Append one JSON line per Originate received and per originated channel hung up "
            "(wall-clock time, call id, the OLIVE_* variables): what this Asterisk was asked to dial.",
        ),
    ] = None,
) -> None:
    """Start a simulated PBX that speaks AMI like Asterisk 22, for olive to dial through."""
    import asyncio
    import contextlib
    import signal

    from olive.cli._common import settle_heap
    from olive.clock import ScaledClock
    from olive.sim import ScenarioError, SimulatedPBX, builtin_scenario, load_scenario

    try:
        loaded = load_scenario(Path(scenario)) if scenario.endswith(".toml") else builtin_scenario(scenario)
    except ScenarioError as exc:
        typer.echo(f"olive sim: {exc}", err=True)
        raise typer.Exit(2) from exc
    clock = ScaledClock(scale if scale is not None else loaded.scale)

    async def serve() -> None:
        pbx = SimulatedPBX(loaded, clock=clock, username=username, secret=secret, seed=seed, keep_actions=10_000)
        if originate_log is not None:
            _log_originates(pbx, originate_log)
        try:
            bound = await pbx.start(host, port)
        except OSError as exc:
            typer.echo(f"olive sim: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from exc
        settle_heap()
        typer.echo(
            f"olive sim: scenario {loaded.name!r} (seed {pbx.seed}, {clock.scale:g}x real time), "
            f"AMI on {host}:{bound} as {username!r}. Ctrl-C stops."
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await pbx.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    typer.echo("olive sim: stopped.")


def _log_originates(pbx: object, path: Path) -> None:
    """One line per Originate and per originated channel's hangup, written at once (a kill -9 loses none)."""
    import json
    import time

    from olive.sim import ActionRecord, SimulatedPBX

    assert isinstance(pbx, SimulatedPBX)
    out = path.open("a", encoding="utf-8", buffering=1)

    def write(line: dict[str, object]) -> None:
        out.write(json.dumps(line, sort_keys=True) + "\n")

    def on_action(record: ActionRecord) -> None:
        action = record.action
        if action.name.lower() != "originate":
            return
        variables = dict(v.split("=", 1) for v in action.get_all("Variable") if "=" in v)
        olive_vars = {k: v for k, v in variables.items() if k.startswith("OLIVE_") and not k.startswith("OLIVE_VAR_")}
        write({"event": "originate", "t": time.time(), "call_id": action.get("ChannelId"), "vars": olive_vars})

    def on_hangup(channel: object) -> None:
        if getattr(channel, "originated", False) and getattr(channel, "is_one", True):
            write({"event": "hangup", "t": time.time(), "call_id": getattr(channel, "uniqueid", None)})

    pbx.action_listeners.append(on_action)
    pbx.core.hangup_listeners.append(on_hangup)
