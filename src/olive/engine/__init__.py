"""The campaign engine: runs campaigns against Asterisk, decides then does the I/O."""

from olive.engine._bus import BusEvent, EventBus, Subscription
from olive.engine._campaigns import CampaignStatus
from olive.engine._dialing import dial_string
from olive.engine._engine import ORIGINATE_MARGIN_S, Engine, EngineState, ServerConfig
from olive.engine._guard import ALLOW, AllowAll, DialGuard, DialObserver, Verdict
from olive.engine._lease import DialingLease, LeaseHeld
from olive.engine._link import LinkState, PbxLink
from olive.engine._persist import DialIntent, counts_as_attempt
from olive.engine._report import CampaignReport, agent_states, campaign_report
from olive.engine._retry import NextStep, NumberHistory, after_attempt
from olive.engine._runner import CampaignRunner
from olive.engine._stats import abandon_rate, live_answers_since

__all__ = [
    "ALLOW",
    "ORIGINATE_MARGIN_S",
    "AllowAll",
    "BusEvent",
    "CampaignReport",
    "CampaignRunner",
    "CampaignStatus",
    "DialGuard",
    "DialIntent",
    "DialObserver",
    "DialingLease",
    "Engine",
    "EngineState",
    "EventBus",
    "LeaseHeld",
    "LinkState",
    "NextStep",
    "NumberHistory",
    "PbxLink",
    "ServerConfig",
    "Subscription",
    "Verdict",
    "abandon_rate",
    "after_attempt",
    "agent_states",
    "campaign_report",
    "counts_as_attempt",
    "dial_string",
    "live_answers_since",
]
