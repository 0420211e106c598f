"""settle_heap: what start-up built is left out of later full collections; its garbage is not."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from olive.cli import serve
from olive.cli._common import settle_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test process gets its heap back: later tests' garbage must stay collectable."""
    yield
    gc.unfreeze()


def test_start_up_garbage_is_collected_and_what_lives_is_frozen(unfrozen: None) -> None:
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    kept = Node()

    settle_heap()

    assert gone() is None  # collected before the freeze, not kept for ever
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for obj in gc.get_objects())  # out of every generation's walk
    later = Node()
    assert any(obj is later for obj in gc.get_objects())  # what comes after is collected as usual


def test_olive_serve_settles_the_heap_once_it_listens(unfrozen: None, capsys: pytest.CaptureFixture[str]) -> None:
    gc.unfreeze()
    serve.started("http://127.0.0.1:8000")
    assert gc.get_freeze_count() > 0
    assert "olive serve: listening on http://127.0.0.1:8000" in capsys.readouterr().err
