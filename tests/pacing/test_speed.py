"""How long a predictive decision takes (figures only with ``--benchmark-enable``).

    pytest tests/pacing/test_speed.py --benchmark-enable
"""

from __future__ import annotations

from typing import Any

import pytest

from olive.pacing import PredictivePacer

from .helpers import snapshot, teach


@pytest.mark.parametrize("agents", [5, 20, 100])
def test_predictive_decision(benchmark: Any, agents: int) -> None:
    pacer = PredictivePacer()
    teach(pacer, dials=2000, answer_rate=0.15, handles=1000)
    busy = agents - agents // 10
    snap = snapshot(
        idle=agents // 10,
        talking=[7.0 * i % 400 for i in range(busy - busy // 5)],
        wrapup=[i % 15 for i in range(busy // 5)],
        dialing=[i % 25 for i in range(agents * 3)],
    )
    decision = benchmark(pacer.decide, snap)
    assert decision.dials >= 0
