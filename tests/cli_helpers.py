"""Running olive's CLI as users do: a real process, and a port already taken."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: The ``olive`` command, run by this test's Python (the venv's olive, even off PATH).
OLIVE = [sys.executable, "-m", "olive.cli.__main__"]


@contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port something else is listening on, while the block runs."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]
