"""AMI decoding speed on recorded Asterisk bytes (figures only with ``--benchmark-enable``).

    pip install -e '.[bench]'
    pytest tests/ami/test_codec_speed.py --benchmark-enable -n 0

The full side-by-side run with ratios is ``python benchmarks/codec.py``.
Without ``--benchmark-enable`` each runs once on a small stream and checks
that every decoder saw every message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from benchmarks import codec


@pytest.fixture(scope="module")
def reads() -> tuple[list[bytes], int]:
    data, messages = codec.corpus(0.5, codec.TRANSCRIPT_DIRS[-1])
    return codec.chunks(data), messages


@pytest.mark.parametrize("name", ["bare split", "panoramisk", "olive raw", "olive typed"])
def test_decode_recorded_bytes(benchmark: Any, reads: tuple[list[bytes], int], name: str) -> None:
    if name == "panoramisk":
        pytest.importorskip("panoramisk", reason="install the bench extra: pip install -e '.[bench]'")
    decoder: Callable[[list[bytes]], int] = codec.DECODERS[name]
    chunks, messages = reads
    assert benchmark(decoder, chunks) == messages
