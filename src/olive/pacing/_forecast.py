"""The free-agent forecast: will the next call's live answer find an agent?

A call dialed now is answered, if at all, after a delay ``d`` drawn from the
learned answer-time distribution. It needs an agent free by ``d + patience``.
The forecast takes ``K`` equally likely values ``d_k`` (quantiles of that
distribution) and, for each, counts

- supply: idle agents, plus, for every busy agent, the probability that its
  call and wrap-up are over by ``d_k + patience`` *given how long it has
  already lasted*;
- demand ahead of the new call: answered calls waiting for an agent, plus,
  for every call still ringing, the probability that it becomes a live answer
  within ``d_k`` *given how long it has already rung* (a call that has rung
  for 20 s is less likely to be answered than a fresh one), plus the other
  new calls of this decision that are answered before it.

Supply and demand are sums of independent Bernoulli variables, so their
difference is close to normal; the probability that the new call's live answer
finds no agent is ``P(supply - demand <= 0)``, averaged over the ``d_k``. The
uncertainty of the learned answer rate is added to the variance, which keeps
the pacer careful while it has little data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from olive.pacing._base import AgentActivity, PacingSnapshot
from olive.pacing._estimators import AnswerModel, HandleModel

QUADRATURE_POINTS = 6
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True, slots=True)
class Forecast:
    """Supply and demand at times ``t_0 < ... < t_K`` from now.

    ``t_0 .. t_{K-1}`` are the answer-time quadrature points (equally likely
    answer times of a new call); ``t_K`` is the longest answer time seen, by
    which every call now ringing has answered or will not.
    """

    times: tuple[float, ...]
    free_mean: tuple[float, ...]  # expected agents free by t_j + patience
    free_var: tuple[float, ...]
    demand_mean: tuple[float, ...]  # expected live answers by t_j (waiting calls included)
    demand_var: tuple[float, ...]
    new_live: tuple[float, ...]  # P(a new call is a live answer by t_j)
    waiting: int
    answer_rate: float
    answer_rate_var: float

    def abandon_probability(self, others: int) -> float:
        """P(one more call's live answer costs an abandon), with ``others`` new calls.

        The new call, answered at ``t_k``, takes the first free agent; it costs
        an abandon, its own or a later caller's, if at ``t_k`` or any later
        ``t_j`` the live answers so far need every agent free by then. Averaged
        over its answer time, per live answer.
        """
        p, p_var = self.answer_rate, self.answer_rate_var
        points = len(self.times)
        short = [0.0] * points  # P(demand >= supply) at each t_j
        for j in range(points):
            a = self.new_live[j]
            demand = self.demand_mean[j] + others * a
            margin = self.free_mean[j] - demand
            # Uncertainty of the answer rate moves every expected live answer together.
            rate_spread = (demand - self.waiting) / p if p > 0 else 0.0
            var = self.free_var[j] + self.demand_var[j] + others * a * (1.0 - a) + rate_spread**2 * p_var
            if var <= 1e-12:
                short[j] = 1.0 if margin < 0.5 else 0.0
            else:
                short[j] = 0.5 * math.erfc((margin - 0.5) / (math.sqrt(var) * _SQRT2))
        total, worst_later = 0.0, short[-1]
        for j in range(points - 2, -1, -1):
            worst_later = max(worst_later, short[j])
            total += worst_later
        return total / (points - 1)

    @property
    def expected_free_agents(self) -> float:
        return self.free_mean[len(self.free_mean) // 2]

    @property
    def expected_live_answers_ahead(self) -> float:
        return self.demand_mean[-1]


def forecast(
    snapshot: PacingSnapshot, answers: AnswerModel, handles: HandleModel, patience_s: float
) -> Forecast:
    times, p, ringing, no_answer = answers.tables(QUADRATURE_POINTS)
    talk_rows, talk_bin_s, wrapup_rows = handles.tables(tuple(t + patience_s for t in times))
    now = snapshot.now
    idle = 0
    busy: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    last_talk, last_wrapup = len(talk_rows) - 1, len(wrapup_rows) - 1
    for agent in snapshot.agents:
        activity = agent.activity
        if activity is AgentActivity.IDLE:
            idle += 1
        elif activity is AgentActivity.TALKING:
            busy.append(talk_rows[min(last_talk, max(0, int((now - agent.since) / talk_bin_s)))])
        elif activity is AgentActivity.WRAPUP:
            busy.append(wrapup_rows[min(last_wrapup, max(0, int(now - agent.since)))])
        elif activity is AgentActivity.RINGING:  # being offered a call: about to talk
            busy.append(talk_rows[0])
    last_ring = len(ringing)
    ring = [
        ringing[max(0, int(now - t))] if now - t < last_ring else no_answer for t in snapshot.dialing
    ]
    k_points = len(times)
    if busy:
        free_mean = tuple(idle + sum(col) for col in zip(*(r[0] for r in busy), strict=True))
        free_var = tuple(sum(col) for col in zip(*(r[1] for r in busy), strict=True))
    else:
        free_mean, free_var = (float(idle),) * k_points, (0.0,) * k_points
    waiting = snapshot.waiting
    if ring:
        demand_mean = tuple(waiting + sum(col) for col in zip(*(r[0] for r in ring), strict=True))
        demand_var = tuple(sum(col) for col in zip(*(r[1] for r in ring), strict=True))
    else:
        demand_mean, demand_var = (float(waiting),) * k_points, (0.0,) * k_points
    quadrature = k_points - 1
    new_live = tuple(p * min(1.0, (k + 0.5) / quadrature) for k in range(k_points))
    return Forecast(
        times=times,
        free_mean=free_mean,
        free_var=free_var,
        demand_mean=demand_mean,
        demand_var=demand_var,
        new_live=new_live,
        waiting=waiting,
        answer_rate=p,
        answer_rate_var=answers.rate_variance,
    )
