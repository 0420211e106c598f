"""The simulator against every recorded Asterisk 22 session (tests/fixtures/asterisk-22).

See tests/sim/replay.py and tests/sim/compare.py for how the recordings are
replayed and compared. The replays run in virtual time (the simulator in
memory, on a clock that jumps to its next timer), once per worker: every
duration is exact, so the timing checks hold on a loaded machine, and all
of them take a few seconds.
"""

from __future__ import annotations

import pytest
from tests.sim.compare import compare
from tests.sim.replay import RUNS, SEPARATE, Replay, replay_all
from tests.support.transcripts import names


@pytest.fixture(scope="session")
def replays() -> dict[str, Replay]:
    return replay_all()


def test_every_transcript_is_replayed() -> None:
    assert sorted([*(n for run in RUNS for n in run), *SEPARATE]) == names()


@pytest.mark.parametrize("name", [n for n in names() if n not in SEPARATE])
def test_simulator_matches_the_recording(replays: dict[str, Replay], name: str) -> None:
    report = compare(replays[name])
    assert report.compared > 10
    assert not report.problems, f"{name}:\n" + "\n".join(report.problems)
    assert not report.timing, f"{name}: anchor events off their recorded time:\n" + "\n".join(report.timing)
