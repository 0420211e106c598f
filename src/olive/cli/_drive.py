"""Running the engine until a campaign is done, with a live view and Ctrl-C handling."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from rich.live import Live
from sqlalchemy.orm import Session, sessionmaker

from olive.cli._common import console, logging_through
from olive.cli._live import LiveView, summary_table
from olive.engine import CampaignReport, Engine, campaign_report
from olive.store import CampaignRepository, transaction


def report(sessions: sessionmaker[Session], engine: Engine, campaign_id: str) -> CampaignReport:
    with transaction(sessions) as session:
        return campaign_report(session, campaign_id, engine.clock.now(), engine)


async def drive(
    engine: Engine,
    sessions: sessionmaker[Session],
    campaign_id: str,
    *,
    live: bool = True,
    refresh_s: float = 0.25,
) -> CampaignReport:
    """Run until the campaign finishes; the first Ctrl-C pauses dialing and lets calls end, the second
    (or a SIGTERM) quits."""
    interrupts = 0
    loop = asyncio.get_running_loop()

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            with transaction(sessions) as session:
                campaign = CampaignRepository(session).get(campaign_id)
                if campaign is not None and campaign.status == "running":
                    campaign.status = "paused"
            console.print("[yellow]Ctrl-C: no new calls; waiting for calls in progress (Ctrl-C again to quit now)")

    def on_terminate() -> None:
        nonlocal interrupts
        interrupts = 2
        console.print("[yellow]Terminated: stopping now")

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        loop.add_signal_handler(signal.SIGTERM, on_terminate)
    view = LiveView()
    try:
        with Live(console=console, refresh_per_second=4, transient=False, auto_refresh=live) as display, logging_through(console):
            while True:
                current = report(sessions, engine, campaign_id)
                if live:
                    display.update(view.render(current, engine.clock.scale if engine.clock.scale != 1 else None))
                if current.status == "finished" or interrupts >= 2:
                    break
                if (why := _login_refused(engine)) is not None:
                    raise LoginRefused(why)
                if interrupts == 1 and current.active_calls == 0:
                    break
                await asyncio.sleep(refresh_s)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
        ignore_interrupts()
    return report(sessions, engine, campaign_id)


def ignore_interrupts() -> None:
    """From the end of a run to the process's exit, Ctrl-C is ignored: the clean-up (agents logged
    out, the summary) must finish, and an interrupt in the interpreter's own exit prints a traceback.
    The loop's handler goes first: removing it later would put Python's default one back."""
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Logins refused in a row before `olive run` gives up: a wrong secret does not fix itself.
LOGIN_TRIES = 3


class LoginRefused(Exception):
    """Asterisk keeps refusing olive's AMI login."""


def _login_refused(engine: Engine) -> str | None:
    for link in engine.links.values():
        client = link.client
        if getattr(client, "login_refusals", 0) >= LOGIN_TRIES:
            return (
                f"Asterisk {link.name}: authentication failed for user {getattr(client, 'username', '?')!r} on "
                f"{getattr(client, 'host', '?')}:{getattr(client, 'port', '?')}: check the secret and manager.conf "
                f"(refused {LOGIN_TRIES} times; see docs/asterisk-setup.md)"
            )
    return None


def print_summary(final: CampaignReport) -> None:
    console.print()
    console.print(summary_table(final))
