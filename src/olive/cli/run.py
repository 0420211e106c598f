"""``olive run CAMPAIGN_FILE``: run one campaign to completion."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.markup import escape

from olive.cli._common import DATABASE_OPTION, err_console, open_store, settle_heap, setup_logging


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        campaign_file: Path = typer.Argument(..., help="The campaign file (TOML); see docs/campaign-file.md."),
        database_url: str | None = DATABASE_OPTION,
        no_live: bool = typer.Option(False, "--no-live", help="No live view; print the summary at the end."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log AMI and engine activity."),
    ) -> None:
        """Run one campaign to completion against the Asterisk named in CAMPAIGN_FILE."""
        from olive.campaign_file import CampaignFileError, install, load
        from olive.compliance import campaign_problems, plan_warnings
        from olive.engine import DialingLease
        from olive.store import transaction

        setup_logging(verbose)
        try:
            cf = load(campaign_file)
            server = cf.server()
            spec = cf.spec
            plan = spec.plan.to_row()
            problems = campaign_problems(plan, spec.campaign.schedule, spec.campaign.compliance_profile)
            if problems:
                raise CampaignFileError(campaign_file, [f"campaign: {p}" for p in problems])
        except (CampaignFileError, ValueError) as exc:
            err_console.print(f"[red]Cannot run this campaign file[/]\n{escape(str(exc))}")
            raise typer.Exit(2) from None
        for warning in plan_warnings(plan, spec.campaign.compliance_profile):
            err_console.print(f"[yellow]warning:[/] {warning}")
        sessions = open_store(database_url)
        lease = DialingLease(sessions)
        if not lease.acquire():
            err_console.print(f"[red]olive run: refusing to dial: {lease.note}", soft_wrap=True)
            raise typer.Exit(3)
        with transaction(sessions) as session:
            campaign, created = install(session, cf)
            campaign_id = campaign.id
        err_console.print(
            f"{'Loaded' if created else 'Resuming'} campaign [bold]{cf.name}[/] "
            f"({len(cf.contacts)} contacts in file) on Asterisk {server.host}:{server.port}"
        )
        asyncio.run(_run(sessions, server, campaign_id, live=not no_live, lease=lease))


async def _run(sessions: object, server: object, campaign_id: str, *, live: bool, lease: object) -> None:
    from olive.cli._drive import LoginRefused, drive, ignore_interrupts, print_summary
    from olive.compliance import ComplianceGuard
    from olive.engine import Engine

    engine = Engine(sessions, {"default": server}, guard=ComplianceGuard(), lease=lease)  # type: ignore[arg-type, dict-item]
    await engine.start()
    settle_heap()
    try:
        final = await drive(engine, sessions, campaign_id, live=live)  # type: ignore[arg-type]
    except LoginRefused as exc:
        err_console.print(f"[red]olive run: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        # Normal end, Ctrl-C or a fatal error: its agents leave the queue and are logged out,
        # with Ctrl-C ignored until the process exits.
        ignore_interrupts()
        err_console.print("[yellow]Stopping: logging the agents out…")
        try:
            left = await engine.control.log_out_campaign_agents(campaign_id)
        except Exception as exc:  # the original error, if any, matters more
            left = []
            err_console.print(f"[red]Could not log the agents out:[/] {exc}")
        if left:
            err_console.print(f"[yellow]warning:[/] still members of the queue in Asterisk: {', '.join(left)}")
        await engine.stop()
    print_summary(final)
