"""One running campaign: its plan, its pacer, and the numbers it reports.

The runner turns tracker changes into the pacer's observations and the
engine's view of the campaign into a :class:`PacingSnapshot`. It does no
I/O: the engine hands it everything, time included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from olive import pacing
from olive.calls import (
    AgentActivity,
    AgentChange,
    AgentStatus,
    CallChange,
    CallRecord,
    CallState,
    Outcome,
)
from olive.engine._answer_history import LIVE_ANSWERS_S, AnswerHistory
from olive.engine._brake import AbandonBrake
from olive.store import AMD_FALSE_POSITIVE_SHARE

_ACTIVITY = {
    AgentActivity.IDLE: pacing.AgentActivity.IDLE,
    AgentActivity.RINGING: pacing.AgentActivity.RINGING,
    AgentActivity.TALKING: pacing.AgentActivity.TALKING,
    AgentActivity.WRAPUP: pacing.AgentActivity.WRAPUP,
    AgentActivity.PAUSED: pacing.AgentActivity.PAUSED,
    AgentActivity.BUSY: pacing.AgentActivity.PAUSED,
    AgentActivity.UNAVAILABLE: pacing.AgentActivity.PAUSED,
}
_AVAILABLE = (AgentActivity.IDLE, AgentActivity.RINGING, AgentActivity.TALKING, AgentActivity.WRAPUP)
_HANDLING = (AgentActivity.TALKING, AgentActivity.WRAPUP)

def pacer_config(plan: Mapping[str, Any], profile: str) -> pacing.PacerConfig:
    return pacing.PacerConfig(
        lines_per_agent=float(plan.get("lines_per_agent", 1.5)),
        abandon_target=float(plan.get("abandon_target", 0.03)),
        max_concurrent=int(plan.get("max_concurrent", 50)),
        max_calls_per_second=float(plan.get("max_calls_per_second", 10.0)),
        compliance_profile=pacing.ComplianceProfile(profile),
        patience_s=float(plan.get("connect_limit_s", 2.0)),
    )


@dataclass
class CampaignCounters:
    """Running totals for stats: agent time is integrated tick by tick."""

    outcomes: dict[str, int] = field(default_factory=dict)
    agent_s: float = 0.0  # logged-in, not paused agent time
    handle_s: float = 0.0  # of which talking or in after-call work
    talk_s: float = 0.0
    connects: int = 0
    dials: int = 0


def _view(agent: AgentStatus) -> pacing.AgentSnapshot | None:
    """What the pacer sees of an agent (None: not one it counts)."""
    activity = _ACTIVITY.get(agent.activity)
    if activity is None:
        return None
    since = agent.talk_started_at if agent.activity is AgentActivity.TALKING and agent.talk_started_at else agent.since
    return pacing.AgentSnapshot(activity, since)


@dataclass(frozen=True, slots=True)
class _AgentViews:
    agents: Sequence[AgentStatus]  # held, so its id cannot be reused while cached
    views: tuple[pacing.AgentSnapshot, ...]
    available: int  # agents counted as working time (idle, ringing, talking, wrapping up)
    handling: int  # of them, talking or wrapping up


class CampaignRunner:
    def __init__(self, campaign_id: str, plan: Mapping[str, Any], profile: str) -> None:
        self.campaign_id = campaign_id
        self.plan: dict[str, Any] = dict(plan)
        self.profile = profile
        self.pacer = pacing.make_pacer(self.plan.get("dial_mode", "progressive"), pacer_config(self.plan, profile))
        self.counters = CampaignCounters()
        self.last_decision: pacing.DialDecision | None = None
        self._last_talk: dict[str, float] = {}
        # What a rebuilt pacer (new plan) learns from again: the live answers and machines of
        # the abandon windows (bounded: _answer_history.py), and the recent dials and handle
        # times for the estimators.
        self.history = AnswerHistory()
        self._recent: deque[pacing.Observation] = deque(maxlen=20_000)
        self._amd_pending: set[str] = set()  # answered calls whose dial resolves at AMD's verdict
        self.brake = AbandonBrake(pacer_config(self.plan, profile), self.pacer.mode)
        self._views: _AgentViews | None = None
        # interface -> (its status, its view or None, available, handling), while the status is that object
        self._agent_view: dict[str, tuple[AgentStatus, pacing.AgentSnapshot | None, bool, bool]] = {}

    def __repr__(self) -> str:
        return f"<CampaignRunner {self.campaign_id} {self.pacer.mode}>"

    def restore(self, live_answers: Iterable[tuple[float, bool]]) -> None:
        """Replay the campaign's past live answers (at, abandoned) so the abandon budget survives restarts."""
        self.restore_counted((at, abandoned, 1) for at, abandoned in live_answers)

    def restore_counted(self, live_answers: Iterable[tuple[float, bool, int]]) -> None:
        """:meth:`restore` from (at, abandoned, count): answers counted together at one time
        (``live_answer_counts``: connected answers in buckets, abandons one by one)."""
        for at, abandoned, count in live_answers:
            self.pacer.observe(pacing.RestoredLiveAnswer(at, abandoned, count))
            self.brake.record(at, abandoned, count)
            self._remember(at, abandoned, count)

    def _remember(self, at: float, abandoned: bool, count: int = 1) -> None:
        if abandoned:
            for _ in range(count):
                self.history.abandoned(at)
        else:
            self.history.connected(at, count)

    def restore_machines(self, machines: Iterable[tuple[float, float]]) -> None:
        """Replay the campaign's past MACHINE calls (at, estimated share of a person), oldest first."""
        for at, share in machines:
            obs = pacing.MachineDetected(at, share)
            self.pacer.observe(obs)
            self.brake.record_machine(at, share)
            self.history.machine(at, share)

    def update_plan(self, plan: Mapping[str, Any], profile: str) -> None:
        """A changed plan applies to new calls; calls in flight keep their snapshot."""
        if dict(plan) == self.plan and profile == self.profile:
            return
        self.plan, self.profile = dict(plan), profile
        self.pacer = pacing.make_pacer(self.plan.get("dial_mode", "progressive"), pacer_config(self.plan, profile))
        self.brake = AbandonBrake(pacer_config(self.plan, profile), self.pacer.mode)
        for kept in self.history.replay():
            self.pacer.observe(kept)
            if isinstance(kept, pacing.MachineDetected):
                self.brake.record_machine(kept.at, kept.person_share)
            else:
                self.brake.record(kept.at, kept.abandoned, kept.count)
        for obs in self._recent:
            self.pacer.observe(obs)

    def _observe(self, obs: pacing.Observation) -> None:
        self.pacer.observe(obs)
        if isinstance(obs, (pacing.CallAbandoned, pacing.CallConnected)):
            self._remember(obs.at, isinstance(obs, pacing.CallAbandoned))
            self.brake.record(obs.at, isinstance(obs, pacing.CallAbandoned))
        elif isinstance(obs, pacing.MachineDetected):
            self.history.machine(obs.at, obs.person_share)
            self.brake.record_machine(obs.at, obs.person_share)
        else:
            self._recent.append(obs)

    # -- feeding the pacer ----------------------------------------------------------
    def dial_placed(self, at: float) -> None:
        self.counters.dials += 1
        self._observe(pacing.DialPlaced(at))

    # -- answering-machine detection ----------------------------------------------------
    @property
    def amd(self) -> bool:
        return str(self.plan.get("amd") or "off") != "off"

    @property
    def amd_person_share(self) -> float:
        """The plan's estimate of the people among AMD's machines (Ofcom counts them abandoned)."""
        share = self.plan.get("amd_false_positive_share")
        return AMD_FALSE_POSITIVE_SHARE if share is None else float(share)

    def to_agents(self, rec: CallRecord) -> bool | None:
        """For an answered call under AMD: does it go to the agents (a live answer for the
        pacer)? None while AMD has not decided. HANGUP during AMD counts as live, as it
        does in the abandon rate (it may have been a person)."""
        if rec.queued_at is not None or rec.agent_connected_at is not None:
            return True
        if rec.state is CallState.ENDED:
            return rec.outcome is not Outcome.MACHINE
        status = (rec.amd_status or "").upper()
        if status == "HUMAN" or (status in ("MACHINE", "NOTSURE") and self.plan.get("amd") == "agent"):
            return True
        if status == "MACHINE":
            return False
        if status == "NOTSURE":
            return str(self.plan.get("amd_notsure") or "agent") != "machine"
        return None

    def _resolve_amd(self, rec: CallRecord) -> None:
        """With AMD the dial resolves at the verdict, the moment a person needs an agent (or
        is known not to): the answer-time estimate includes AMD's listening, the non-answer
        time includes the machines', and until then the call is in flight (``dialing``)."""
        to_agents = self.to_agents(rec)
        if to_agents is None:
            return
        self._amd_pending.discard(rec.call_id)
        times = [t for t in (rec.amd_at, rec.queued_at, rec.agent_connected_at, rec.ended_at) if t is not None]
        at = min(times) if times else rec.answered_at or rec.originated_at
        self._observe(pacing.DialResolved(at, rec.originated_at, live=to_agents))

    def call_changed(self, change: CallChange) -> None:
        rec, before = change.record, change.previous
        if rec.answered_at is not None and before.rank < CallState.ANSWERED.rank:
            if self.amd:
                self._amd_pending.add(rec.call_id)
            else:
                self._observe(pacing.DialResolved(rec.answered_at, rec.originated_at, live=True))
        if rec.call_id in self._amd_pending:
            self._resolve_amd(rec)
        if change.ended and rec.answered_at is None and rec.ended_at is not None:
            self._observe(pacing.DialResolved(rec.ended_at, rec.originated_at, live=False))
        if rec.agent_connected_at is not None and before.rank < CallState.CONNECTED.rank:
            self._observe(pacing.CallConnected(rec.agent_connected_at, rec.customer_wait_s or 0.0))
            self.counters.connects += 1
        if change.ended and rec.outcome is not None:
            self.counters.outcomes[rec.outcome.value] = self.counters.outcomes.get(rec.outcome.value, 0) + 1
            if rec.outcome is Outcome.ABANDONED and rec.ended_at is not None:
                self._observe(pacing.CallAbandoned(rec.ended_at, rec.customer_wait_s or 0.0))
            if rec.outcome is Outcome.MACHINE and rec.ended_at is not None:
                self._observe(pacing.MachineDetected(rec.ended_at, self.amd_person_share))
            if rec.talk_s:
                self.counters.talk_s += rec.talk_s

    def agent_changed(self, change: AgentChange) -> None:
        st = change.status
        if change.talk_s is not None:
            self._last_talk[st.interface] = change.talk_s
        if change.wrapup_s is not None:
            talk = self._last_talk.pop(st.interface, 0.0)
            self._observe(pacing.HandleEnded(st.since, talk, change.wrapup_s))

    # -- deciding -------------------------------------------------------------------
    def _agent_views(self, agents: Sequence[AgentStatus]) -> _AgentViews:
        """What the pacer and the time accounts read of the agents. Kept while ``agents`` is the
        same tuple (MembershipSync.agents_of returns the same one until an agent changes); each
        agent's view is kept while its status is the same (frozen) object."""
        cached = self._views
        if cached is not None and cached.agents is agents and isinstance(agents, tuple):
            return cached
        known = self._agent_view
        if len(known) > 2 * len(agents) + 16:  # agents gone since: start afresh
            known = self._agent_view = {}
        views = []
        available = handling = 0
        for agent in agents:
            entry = known.get(agent.interface)
            if entry is None or entry[0] is not agent:
                entry = known[agent.interface] = (agent, _view(agent), agent.activity in _AVAILABLE, agent.activity in _HANDLING)
            if entry[1] is not None:
                views.append(entry[1])
            available += entry[2]
            handling += entry[3]
        self._views = _AgentViews(agents, tuple(views), available, handling)
        return self._views

    def snapshot(self, now: float, agents: Sequence[AgentStatus], calls: Iterable[CallRecord]) -> pacing.PacingSnapshot:
        views = self._agent_views(agents).views
        dialing: list[float] = []
        waiting = talking = 0
        for rec in calls:
            if rec.state in (CallState.ORIGINATING, CallState.RINGING):
                dialing.append(rec.originated_at)
            elif rec.state is CallState.ANSWERED and rec.call_id in self._amd_pending:
                # AMD still listening: not yet a customer waiting, but maybe one to come,
                # the same as a call still ringing (its dial resolves at the verdict).
                dialing.append(rec.originated_at)
            elif rec.state is CallState.ANSWERED and self.amd and self.to_agents(rec) is False:
                continue  # a machine being hung up on or left a message: no agent needed
            elif rec.state in (CallState.ANSWERED, CallState.QUEUED):
                waiting += 1
            elif rec.state is CallState.CONNECTED:
                talking += 1
        return pacing.PacingSnapshot(
            now=now,
            agents=views,
            dialing=tuple(dialing),
            waiting=waiting,
            max_concurrent=int(self.plan.get("max_concurrent", 50)),
            talking_calls=talking,
        )

    def decide(self, snapshot: pacing.PacingSnapshot) -> pacing.DialDecision:
        self.last_decision = self.brake.apply(snapshot, self.pacer.decide(snapshot))
        return self.last_decision

    def account_time(self, agents: Sequence[AgentStatus], dt: float) -> None:
        views = self._agent_views(agents)
        self.counters.agent_s += dt * views.available
        self.counters.handle_s += dt * views.handling


__all__ = ["LIVE_ANSWERS_S", "CampaignCounters", "CampaignRunner", "pacer_config"]
