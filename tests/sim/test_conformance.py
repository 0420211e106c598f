"""The simulator against every recorded Asterisk 22 session (tests/fixtures/asterisk-22).

See tests/sim/replay.py and tests/sim/compare.py for how the recordings are
replayed and compared. The replays run on a scaled clock
(OLIVE_SIM_CONFORMANCE_SCALE, default 15), once per test session: under
pytest-xdist the first worker to need them replays and the others read its results.
"""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest
from tests.sim.compare import compare
from tests.sim.replay import RUNS, SEPARATE, Replay, replay_all
from tests.support.transcripts import names

SCALE = float(os.environ.get("OLIVE_SIM_CONFORMANCE_SCALE", "15"))


def _shared(root: Path) -> dict[str, Replay]:
    data, lock = root / "olive-sim-conformance.pickle", root / "olive-sim-conformance.lock"
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        deadline = time.monotonic() + 600
        while not data.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("another worker never finished the conformance replays") from None
            time.sleep(0.2)
        result: dict[str, Replay] = pickle.loads(data.read_bytes())
        return result
    replays = replay_all(SCALE)
    partial = data.with_suffix(".partial")
    partial.write_bytes(pickle.dumps(replays))
    partial.rename(data)
    return replays


@pytest.fixture(scope="session")
def replays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Replay]:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return _shared(tmp_path_factory.getbasetemp().parent)
    return replay_all(SCALE)


def test_every_transcript_is_replayed() -> None:
    assert sorted([*(n for run in RUNS for n in run), *SEPARATE]) == names()


@pytest.mark.parametrize("name", [n for n in names() if n not in SEPARATE])
def test_simulator_matches_the_recording(replays: dict[str, Replay], name: str) -> None:
    report = compare(replays[name])
    assert report.compared > 10
    assert not report.problems, f"{name}:\n" + "\n".join(report.problems)
    assert not report.timing, f"{name}: anchor events off their recorded time:\n" + "\n".join(report.timing)
