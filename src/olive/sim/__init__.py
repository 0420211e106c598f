"""olive sim: a simulated Asterisk 22 that speaks AMI over TCP.

``SimulatedPBX`` runs a scenario (dialplan, queues, who answers and how) and
answers AMI sessions the way Asterisk 22 does; see docs/simulator.md.
Names are imported on first use, so ``olive.bench`` (pure, no asyncio)
does not pull in the TCP server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from olive.sim._pbx import ActionRecord, ChannelInfo, MemberInfo, SimulatedPBX
    from olive.sim._scenario import Scenario, ScenarioError, builtin_scenario, load_scenario

_WHERE = {
    "ActionRecord": "olive.sim._pbx",
    "ChannelInfo": "olive.sim._pbx",
    "MemberInfo": "olive.sim._pbx",
    "SimulatedPBX": "olive.sim._pbx",
    "Scenario": "olive.sim._scenario",
    "ScenarioError": "olive.sim._scenario",
    "builtin_scenario": "olive.sim._scenario",
    "load_scenario": "olive.sim._scenario",
}

__all__ = [
    "ActionRecord",
    "ChannelInfo",
    "MemberInfo",
    "Scenario",
    "ScenarioError",
    "SimulatedPBX",
    "builtin_scenario",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'olive.sim' has no attribute {name!r}")
