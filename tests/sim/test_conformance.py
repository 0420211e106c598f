"""The simulator against every recorded Asterisk 22 session (tests/fixtures/asterisk-22).

See tests/sim/replay.py and tests/sim/compare.py for how the recordings are replayed and compared.
The replays run on a scaled clock (OLIVE_SIM_CONFORMANCE_SCALE, default 15).
"""

from __future__ import annotations

import os

import pytest
from tests.sim.compare import compare
from tests.sim.replay import RUNS, Replay, replay_all
from tests.support.transcripts import names

SCALE = float(os.environ.get("OLIVE_SIM_CONFORMANCE_SCALE", "15"))


@pytest.fixture(scope="module")
def replays() -> dict[str, Replay]:
    return replay_all(SCALE)


def test_every_transcript_is_replayed() -> None:
    assert sorted(n for run in RUNS for n in run) == names()


@pytest.mark.parametrize("name", names())
def test_simulator_matches_the_recording(replays: dict[str, Replay], name: str) -> None:
    report = compare(replays[name])
    assert report.compared > 10
    assert not report.problems, f"{name}:\n" + "\n".join(report.problems)
    assert not report.timing, f"{name}: anchor events off their recorded time:\n" + "\n".join(report.timing)
