"""The virtual-time pacing benchmark behind ``olive bench``.

Pure: a discrete-event simulation of outbound campaigns (no sockets, no
sleeping, no clock) that runs several pacing policies on the same scenario
and the same random numbers. The predictive policy is olive's own
:class:`~olive.pacing.PredictivePacer`, fed the observations the engine feeds
it; the VICIdial-manner baseline lives here. docs/pacing.md describes the
scenario format and the metrics.
"""

from olive.bench._distributions import Distribution, Exponential, Fixed, LogNormal, ShiftedGamma
from olive.bench._metrics import RunMetrics, worst_rolling_rate
from olive.bench._policies import POLICIES, build_pacer, pacer_config, policy_label
from olive.bench._report import (
    PlotUnavailable,
    agentless_table,
    failure_lines,
    json_lines,
    plot,
    require_matplotlib,
    table,
)
from olive.bench._runner import RunResult, Summary, Task, plan, run, run_task, summarize
from olive.bench._scenario import (
    Amd,
    Cell,
    Change,
    NoAnswer,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from olive.bench._simulation import SHIFT_START, Simulation, simulate
from olive.bench._vicidial import AdaptiveDialLevelPacer, AdaptiveSettings

__all__ = [
    "POLICIES",
    "SHIFT_START",
    "AdaptiveDialLevelPacer",
    "AdaptiveSettings",
    "Amd",
    "Cell",
    "Change",
    "Distribution",
    "Exponential",
    "Fixed",
    "LogNormal",
    "NoAnswer",
    "PlotUnavailable",
    "RunMetrics",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ShiftedGamma",
    "Simulation",
    "Summary",
    "Task",
    "agentless_table",
    "build_pacer",
    "failure_lines",
    "json_lines",
    "load_scenario",
    "pacer_config",
    "parse_scenario",
    "plan",
    "plot",
    "policy_label",
    "require_matplotlib",
    "run",
    "run_task",
    "simulate",
    "summarize",
    "table",
    "worst_rolling_rate",
]
