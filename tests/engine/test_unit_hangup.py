"""The forced stops' listener of a ``--scale-out`` node (engine/_unit_hangup.py), without a database."""

from __future__ import annotations

import threading
from typing import Any

from olive.engine._unit_hangup import listen_for_hangups


class Feed:
    def __init__(self, batches: list[list[str]], stopping: threading.Event, closed: list[Feed]) -> None:
        self.batches, self.stopping, self.closed = batches, stopping, closed

    def wait(self, timeout_s: float) -> list[str]:
        if not self.batches:
            self.stopping.set()
            return []
        batch = self.batches.pop(0)
        if batch == ["<drop>"]:
            raise OSError("server closed the connection unexpectedly")
        return batch

    def close(self) -> None:
        self.closed.append(self)


def test_each_request_is_passed_on_and_a_lost_connection_is_opened_again() -> None:
    stopping = threading.Event()
    closed: list[Feed] = []
    opened: list[Feed] = []
    plan = [OSError("the database is away"), [["camp_a"], ["<drop>"]], [["camp_b", "camp_c"]]]

    def feed(url: Any) -> Feed:
        step = plan.pop(0)
        if isinstance(step, Exception):
            raise step
        opened.append(Feed(step, stopping, closed))
        return opened[-1]

    asked: list[str] = []
    listen_for_hangups("postgresql://x", asked.append, stopping, feed=feed, retry_s=0)  # type: ignore[arg-type]
    assert asked == ["camp_a", "camp_b", "camp_c"]
    assert len(opened) == 2 and closed == opened  # the dropped one closed, the last one closed at the end
    assert not plan
