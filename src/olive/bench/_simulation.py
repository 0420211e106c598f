"""One simulated campaign shift in virtual time: a cell, a policy, a seed.

A discrete-event simulation with no sockets and no sleeping. Contacts are
unlimited. Each dial is a live answer with the cell's answer rate (at the
time of the dial), after the answer delay; otherwise it fails fast
(busy/congestion) or rings until the dial timeout. A live answer goes to the
agent idle longest; if none is free within ``patience_s`` it is abandoned.
An agent talks, wraps up, and is free again.

The pacer sees exactly what the live engine would show it: a
:class:`~olive.pacing.PacingSnapshot` after every batch of events and every
``tick_s``, and the same observation types. Random numbers come from one
stream per kind of draw (dial outcome, answer delay, talk, wrap-up), each used
once per dial or per connect, so every policy meets the same k-th dial and
the same m-th conversation (common random numbers).

With ``[amd]`` (answering machines), an answered dial is a machine with the
cell's machine share; AMD listens (``human_s`` or ``machine_s``) and its
verdict, right or wrong by the cell's accuracy, decides: HUMAN goes to the
agents (the pacer learns the dial as a live answer at the verdict), MACHINE
is hung up (a non-live result at the verdict, and a
:class:`~olive.pacing.MachineDetected` with the plan's estimated share of
people). The call counts as in flight until the verdict, as in the engine.

A team that shrinks loses its idle agents first; busy agents leave when
their call's wrap-up ends and take no new call meanwhile.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import deque
from dataclasses import dataclass, field
from random import Random

from olive.bench._distributions import Distribution
from olive.bench._metrics import RunMetrics
from olive.bench._scenario import Cell, NoAnswer
from olive.pacing import (
    AgentActivity,
    AgentSnapshot,
    CallAbandoned,
    CallConnected,
    DialPlaced,
    DialResolved,
    HandleEnded,
    MachineDetected,
    Pacer,
    PacingSnapshot,
)

# Shifts start at 08:00 UTC on Monday 2025-01-06, so day-based baselines see a working day.
SHIFT_START = 1_736_150_400.0

_RESOLVE, _ABANDON, _TALK_END, _WRAP_END, _VERDICT, _MESSAGE_END, _TICK, _CHANGE, _END = range(9)


@dataclass(slots=True)
class _Agent:
    ident: int
    view: AgentSnapshot
    busy_since: float = 0.0
    talk_s: float = 0.0
    wrapup_s: float = 0.0
    leaving: bool = False


@dataclass(slots=True)
class _Streams:
    dial: Random
    answer_delay: Random
    talk: Random
    wrapup: Random
    amd: Random  # machine or person, and AMD's verdict: two draws per answered dial
    message: Random  # agentless: how long each answer listens to the message

    @classmethod
    def for_run(cls, cell: Cell, seed: int) -> _Streams:
        def stream(kind: str) -> Random:
            return Random(f"olive-bench/{cell.name}/{seed}/{kind}")

        return cls(
            stream("dial"), stream("answer_delay"), stream("talk"), stream("wrapup"), stream("amd"), stream("message")
        )


@dataclass(slots=True)
class _State:
    answer_rate: float
    talk: Distribution
    no_answer: NoAnswer
    agents: dict[int, _Agent] = field(default_factory=dict)
    idle: deque[int] = field(default_factory=deque)
    dialing: dict[int, float] = field(default_factory=dict)
    waiting: dict[int, float] = field(default_factory=dict)  # call -> answered at, FIFO
    people: set[int] = field(default_factory=set)  # calls in AMD that a person answered
    messages: dict[int, float] = field(default_factory=dict)  # agentless: call -> dialed at, message playing
    talking: int = 0
    next_call: int = 0
    next_agent: int = 0
    views: tuple[AgentSnapshot, ...] | None = None  # what the pacer sees of the team; None: stale


class Simulation:
    def __init__(self, cell: Cell, pacer: Pacer, seed: int, hours: float | None = None) -> None:
        self.cell, self.pacer, self.seed = cell, pacer, seed
        self.hours = cell.hours if hours is None else hours
        self._streams = _Streams.for_run(cell, seed)
        self._state = _State(answer_rate=cell.answer_rate, talk=cell.talk, no_answer=cell.no_answer)
        self._events: list[tuple[float, int, int, int]] = []
        self._seq = 0
        start = SHIFT_START + cell.warmup_minutes * 60.0
        self.metrics = RunMetrics(start, start + self.hours * 3600.0, SHIFT_START)
        self.decisions = 0

    # -- event queue ------------------------------------------------------------
    def _push(self, at: float, kind: int, subject: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, kind, subject))

    def run(self) -> RunMetrics:
        cell, state = self.cell, self._state
        now = SHIFT_START
        self._set_team(cell.agents, now)
        for index, change in enumerate(cell.changes):
            self._push(SHIFT_START + change.at_minutes * 60.0, _CHANGE, index)
        self._push(now, _TICK)
        self._push(self.metrics.end, _END)
        events, pop = self._events, heapq.heappop
        handlers = (self._resolve, self._abandon, self._talk_end, self._wrap_end, self._verdict, self._message_end)
        while events:
            now, _, kind, subject = pop(events)
            if kind == _END:
                break
            if kind < _TICK:
                handlers[kind](subject, now)
            elif kind == _TICK:
                self._push(now + cell.tick_s, _TICK)
            else:
                self._change(subject, now)
            if events and events[0][0] == now:
                continue  # decide once the whole batch at this instant is in
            self._decide(now)
        self.metrics.finish(state.agents.values())
        return self.metrics

    # -- pacing -----------------------------------------------------------------
    def _decide(self, now: float) -> None:
        state, cell = self._state, self.cell
        snapshot = PacingSnapshot(
            now=now,
            agents=self._views(),
            dialing=tuple(state.dialing.values()),
            waiting=len(state.waiting),
            talking_calls=state.talking,
            max_concurrent=cell.max_concurrent if cell.max_concurrent is not None else 1_000_000,
        )
        self.decisions += 1
        for _ in range(self.pacer.decide(snapshot).dials):
            self._dial(now)

    def _views(self) -> tuple[AgentSnapshot, ...]:
        state = self._state
        if state.views is None:
            state.views = tuple(a.view for a in state.agents.values() if not a.leaving)
        return state.views

    def _dial(self, now: float) -> None:
        state, streams = self._state, self._streams
        no_answer = state.no_answer
        call = state.next_call
        state.next_call += 1
        u_live, u_fast = streams.dial.random(), streams.dial.random()
        delay = self.cell.answer_delay.sample(streams.answer_delay)  # drawn for every dial
        state.dialing[call] = now
        self.metrics.dial(now)
        self.pacer.observe(DialPlaced(now))
        if u_live < state.answer_rate and delay <= no_answer.ring_timeout_s:
            self._push(now + delay, _RESOLVE, 2 * call + 1)
        elif u_fast < no_answer.fast_fail_share:
            self._push(now + no_answer.fast_fail_s, _RESOLVE, 2 * call)
        else:
            self._push(now + no_answer.ring_timeout_s, _RESOLVE, 2 * call)

    # -- event handlers -----------------------------------------------------------
    def _resolve(self, subject: int, now: float) -> None:
        state = self._state
        call, live = subject >> 1, bool(subject & 1)
        amd = self.cell.amd
        if live and amd is not None:  # answered: AMD listens first, the call stays in flight
            u_machine, u_verdict = self._streams.amd.random(), self._streams.amd.random()
            person = u_machine >= amd.machine_share
            human = u_verdict >= amd.false_positive if person else u_verdict < amd.false_negative
            if person:
                state.people.add(call)
            self._push(now + (amd.human_s if human else amd.machine_s), _VERDICT, 2 * call + int(human))
            return
        dialed_at = state.dialing.pop(call)
        self.pacer.observe(DialResolved(now, dialed_at, live))
        if self.cell.message is not None:  # agentless: a message to whoever answers, no agent
            if live:
                self._message(call, dialed_at, now)
            else:
                self.metrics.line(dialed_at, now)
        elif live:
            self._live_answer(call, now)

    def _verdict(self, subject: int, now: float) -> None:
        state, amd = self._state, self.cell.amd
        assert amd is not None
        call, human = subject >> 1, bool(subject & 1)
        person = call in state.people
        state.people.discard(call)
        self.pacer.observe(DialResolved(now, state.dialing.pop(call), human))
        if human:
            self._live_answer(call, now)
        else:
            self.metrics.machine(now, amd.person_share, person)
            self.pacer.observe(MachineDetected(now, amd.person_share))

    def _message(self, call: int, dialed_at: float, now: float) -> None:
        """An agentless answer: the message plays, the call holds a line until it ends."""
        assert self.cell.message is not None
        state = self._state
        listened = self.cell.message.sample(self._streams.message)
        state.talking += 1  # in progress (the plan's max_concurrent counts it), never with an agent
        state.messages[call] = dialed_at
        self.metrics.message(now, listened)
        self._push(now + listened, _MESSAGE_END, call)

    def _message_end(self, call: int, now: float) -> None:
        state = self._state
        state.talking -= 1
        self.metrics.line(state.messages.pop(call), now)

    def _live_answer(self, call: int, now: float) -> None:
        state = self._state
        self.metrics.live_answer(now)
        if state.idle:
            self._connect(state.idle.popleft(), now, now)
        else:
            state.waiting[call] = now
            self._push(now + self.cell.patience_s, _ABANDON, call)

    def _abandon(self, call: int, now: float) -> None:
        answered_at = self._state.waiting.pop(call, None)
        if answered_at is None:
            return  # an agent took it in time
        self.metrics.abandon(answered_at)
        self.pacer.observe(CallAbandoned(now, now - answered_at))

    def _connect(self, agent_id: int, answered_at: float, now: float) -> None:
        state, streams = self._state, self._streams
        agent = state.agents[agent_id]
        agent.busy_since = now
        agent.talk_s = state.talk.sample(streams.talk)
        agent.wrapup_s = self.cell.wrapup.sample(streams.wrapup)
        agent.view = AgentSnapshot(AgentActivity.TALKING, now)
        state.views = None
        state.talking += 1
        self.metrics.connect(now)
        self.pacer.observe(CallConnected(now, now - answered_at))
        self._push(now + agent.talk_s, _TALK_END, agent_id)

    def _talk_end(self, agent_id: int, now: float) -> None:
        agent = self._state.agents[agent_id]
        agent.view = AgentSnapshot(AgentActivity.WRAPUP, now)
        self._state.views = None
        self._state.talking -= 1
        self._push(now + agent.wrapup_s, _WRAP_END, agent_id)

    def _wrap_end(self, agent_id: int, now: float) -> None:
        state = self._state
        agent = state.agents[agent_id]
        state.views = None
        self.metrics.handled(agent.busy_since, agent.talk_s, now)
        self.pacer.observe(HandleEnded(now, agent.talk_s, agent.wrapup_s))
        if agent.leaving:
            del state.agents[agent_id]
            self.metrics.team(len(state.agents), now)
        elif state.waiting:
            call = next(iter(state.waiting))
            self._connect(agent_id, state.waiting.pop(call), now)
        else:
            agent.view = AgentSnapshot(AgentActivity.IDLE, now)
            state.idle.append(agent_id)

    # -- drift --------------------------------------------------------------------
    def _change(self, index: int, now: float) -> None:
        change, state = self.cell.changes[index], self._state
        if change.answer_rate is not None:
            state.answer_rate = change.answer_rate
        if change.talk_mean_s is not None:
            state.talk = self.cell.talk.with_mean(change.talk_mean_s)
        if change.ring_timeout_s is not None:
            state.no_answer = dataclasses.replace(state.no_answer, ring_timeout_s=change.ring_timeout_s)
        if change.agents is not None:
            self._set_team(change.agents, now)

    def _set_team(self, size: int, now: float) -> None:
        state = self._state
        state.views = None
        staying = [a for a in state.agents.values() if not a.leaving]
        for _ in range(size - len(staying)):  # joiners, or leavers who change their minds
            returning = next((a for a in state.agents.values() if a.leaving), None)
            if returning is not None:
                returning.leaving = False
                continue
            agent = _Agent(state.next_agent, AgentSnapshot(AgentActivity.IDLE, now))
            state.next_agent += 1
            state.agents[agent.ident] = agent
            state.idle.append(agent.ident)
        for _ in range(len(staying) - size):
            if state.idle:  # the idle log out at once
                del state.agents[state.idle.pop()]
            else:  # the busy finish their call first
                busy = next(a for a in state.agents.values() if not a.leaving)
                busy.leaving = True
        self.metrics.team(len(state.agents), now)


def simulate(cell: Cell, pacer: Pacer, seed: int, hours: float | None = None) -> tuple[RunMetrics, int]:
    """Run one shift; the metrics and how many decisions the pacer made."""
    simulation = Simulation(cell, pacer, seed, hours)
    metrics = simulation.run()
    return metrics, simulation.decisions

