"""The abandon controller: how much risk the predictive pacer may take per call.

The forecast gives, for each extra call, the probability that its live answer
finds no agent. The pacer dials the extra call only while that probability
is at most a threshold. Calls at the threshold are the riskiest ones placed;
most are far safer, so the threshold sits well above the abandon rate it
produces, and where exactly depends on the campaign. The controller therefore
learns it: after every live answer dialed ahead of the agents it nudges the
threshold, down sharply on an abandon and up a little on a connect, so that
the abandon rate settles at the aim (stochastic approximation). Its gain
shrinks as it learns, to a floor set by ``memory`` live answers, so it keeps
following a campaign that changes.

The controller steers the average; the budget check in the pacer enforces
the limit (see :mod:`olive.pacing._predictive`).
"""

from __future__ import annotations

import math

_INITIAL_THRESHOLD = 0.05
_MIN_THRESHOLD = 0.002
_MAX_THRESHOLD = 0.9
_INITIAL_GAIN_ANSWERS = 150  # the first updates act as if this many answers had been seen


class AbandonController:
    def __init__(self, aim: float, memory: int, threshold: float = _INITIAL_THRESHOLD) -> None:
        self._aim = aim
        self._memory = memory
        self._log_threshold = math.log(threshold)
        self.outcomes = 0

    @property
    def threshold(self) -> float:
        return math.exp(self._log_threshold)

    def outcome(self, abandoned: bool) -> None:
        """Learn from one live answer placed while the pacer was dialing ahead."""
        seen = min(self._memory, _INITIAL_GAIN_ANSWERS + self.outcomes)
        error = (1.0 if abandoned else 0.0) - self._aim
        self._log_threshold -= error / (self._aim * seen)
        self._log_threshold = min(math.log(_MAX_THRESHOLD), max(math.log(_MIN_THRESHOLD), self._log_threshold))
        self.outcomes += 1
