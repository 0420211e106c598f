"""The campaign engine: runs campaigns against Asterisk, decides then does the I/O.

It builds on the rules below it: the dial guard and the retry rule are
:mod:`olive.compliance`'s, how to reach an Asterisk is :mod:`olive.ami`'s
(``ServerConfig``)."""

from olive.engine._bus import BusEvent, EventBus, Subscription
from olive.engine._campaigns import CampaignStatus
from olive.engine._dialing import dial_string
from olive.engine._engine import MAX_DIALS_PER_TICK, ORIGINATE_MARGIN_S, Engine, EngineState
from olive.engine._lease import DialingLease, LeaseHeld, default_node_name
from olive.engine._link import LinkState, PbxLink
from olive.engine._node import NodeRunner, UnitWorker
from olive.engine._persist import DialIntent
from olive.engine._report import CampaignReport, agent_states, campaign_report
from olive.engine._runner import CampaignRunner
from olive.engine._stats import abandon_rate, live_answers_since

__all__ = [
    "MAX_DIALS_PER_TICK",
    "ORIGINATE_MARGIN_S",
    "BusEvent",
    "CampaignReport",
    "CampaignRunner",
    "CampaignStatus",
    "DialIntent",
    "DialingLease",
    "Engine",
    "EngineState",
    "EventBus",
    "LeaseHeld",
    "LinkState",
    "NodeRunner",
    "PbxLink",
    "Subscription",
    "UnitWorker",
    "abandon_rate",
    "agent_states",
    "campaign_report",
    "default_node_name",
    "dial_string",
    "live_answers_since",
]
