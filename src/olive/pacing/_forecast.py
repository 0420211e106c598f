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
    times, p, ringing, _ = answers.tables(QUADRATURE_POINTS)
    now = snapshot.now
    talking_since = [a.since for a in snapshot.agents if a.activity is AgentActivity.TALKING]
    talk_rows, talk_bin_s, wrapup_rows = handles.tables(tuple(t + patience_s for t in times), now, talking_since)
    points = len(times)
    idle = 0
    busy_p: list[tuple[float, ...]] = []
    busy_v: list[tuple[float, ...]] = []
    last_talk, last_wrapup = len(talk_rows) - 1, len(wrapup_rows) - 1
    idle_activity, talking, wrapping_up, offered = (
        AgentActivity.IDLE,
        AgentActivity.TALKING,
        AgentActivity.WRAPUP,
        AgentActivity.RINGING,
    )
    for agent in snapshot.agents:
        activity = agent.activity
        if activity is idle_activity:
            idle += 1
            continue
        if activity is talking:
            i = int((now - agent.since) / talk_bin_s)
            row = talk_rows[last_talk if i > last_talk else i if i > 0 else 0]
        elif activity is wrapping_up:
            i = int(now - agent.since)
            row = wrapup_rows[last_wrapup if i > last_wrapup else i if i > 0 else 0]
        elif activity is offered:  # being offered a call: about to talk
            row = talk_rows[0]
        else:
            continue
        busy_p.append(row[0])
        busy_v.append(row[1])
    if busy_p:
        free_mean = tuple(idle + sum(col) for col in zip(*busy_p, strict=True))
        free_var = tuple(sum(col) for col in zip(*busy_v, strict=True))
    else:
        free_mean, free_var = (float(idle),) * points, (0.0,) * points
    # Ringing calls, counted by how many whole seconds they have rung.
    bins = len(ringing)
    rung = [0] * bins
    for dialed_at in snapshot.dialing:
        i = int(now - dialed_at)
        if i < bins:
            rung[i if i > 0 else 0] += 1
    waiting = snapshot.waiting
    demand_mean = [float(waiting)] * points
    demand_var = [0.0] * points
    for i, count in enumerate(rung):
        if count:
            probabilities, variances = ringing[i]
            for k in range(points):
                demand_mean[k] += count * probabilities[k]
                demand_var[k] += count * variances[k]
    quadrature = points - 1
    new_live = tuple(p * min(1.0, (k + 0.5) / quadrature) for k in range(points))
    return Forecast(
        times=times,
        free_mean=free_mean,
        free_var=free_var,
        demand_mean=tuple(demand_mean),
        demand_var=tuple(demand_var),
        new_live=new_live,
        waiting=waiting,
        answer_rate=p,
        answer_rate_var=answers.cautious_variance,
    )
