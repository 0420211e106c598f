"""While the live view is up, log lines go through its console (above the view), not around it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.live import Live

from olive.cli._common import logging_through, setup_logging


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    yield
    root.handlers, root.level = saved, level


def test_log_lines_go_through_the_live_console(root_handlers: None) -> None:
    # issue 13: engine warnings written to stderr broke `olive run`'s live view.
    setup_logging(False)
    screen = io.StringIO()
    live_console = Console(file=screen, force_terminal=True, width=100)
    with Live("campaign figures", console=live_console, auto_refresh=False), logging_through(live_console):
        logging.getLogger("olive.ami").warning("AMI default connection failed")
    assert "AMI default connection failed" in screen.getvalue()
    assert "campaign figures" in screen.getvalue()
