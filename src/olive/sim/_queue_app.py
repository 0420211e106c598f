"""Queue(): one caller's stay in an app_queue queue.

Joins (QueueCallerJoin), rings members by the queue's strategy for the
member ``timeout``, waits ``retry`` seconds between tries, checks the
overall timeout (Queue()'s fifth argument) once per second in whole
seconds from the join, and ends in one of three ways: connected to an agent
(AgentConnect, then a bridge until one side hangs up: AgentComplete), the
caller hanging up (QueueCallerAbandon) or the timeout (QueueCallerAbandon
too, and QUEUESTATUS=TIMEOUT). The variable and event order follows
queue_exec()/try_calling() in Asterisk 22's app_queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from olive.sim._apps import Runner
from olive.sim._dial import Dial, call_local, parse_target, request
from olive.sim._far import FarEnd
from olive.sim._model import Bridge, Channel
from olive.sim._queue_bridge import connect
from olive.sim._queues import Member, Queue, QueueEntry, Queues, set_duration

if TYPE_CHECKING:
    from olive.sim._clockwork import Timer

__all__ = ["QueueCall"]

RECHECK = 1.0


@dataclass(eq=False)
class Attempt:
    member: Member
    channel: Channel
    dial: Dial
    started: float


class QueueCall:
    def __init__(self, queues: Queues, runner: Runner, args: list[str]) -> None:
        self.queues = queues
        self.core = queues.core
        self.runner = runner
        self.ch = runner.ch
        self.args = [a.strip() for a in args]
        self.q: Queue | None = None
        self.entry: QueueEntry | None = None
        self.ringing = "r" in (self.args[1] if len(self.args) > 1 else "")
        self.attempts: list[Attempt] = []
        self.timers: list[Timer] = []
        self.ring_timer_limit = 0.0
        self.done = False
        self.bridge: Bridge | None = None
        self.peer: Channel | None = None
        self.member: Member | None = None
        self.callstart = 0
        self.bridge_start = 0.0
        # queue_exec(): the caller's penalty range from its channel (INT_MAX: no limit).
        self.min_penalty = _penalty(self.ch.variables.get("QUEUE_MIN_PENALTY"))
        self.max_penalty = _penalty(self.ch.variables.get("QUEUE_MAX_PENALTY"))

    # -- join ------------------------------------------------------------------------
    def start(self) -> None:
        core, ch = self.core, self.ch
        q = self.queues.queues.get(self.args[0] if self.args else "")
        if q is None:
            return self._leave_without_joining("UNKNOWN")
        if q.maxlen and len(q.entries) >= q.maxlen:
            return self._leave_without_joining("FULL")
        if q.joinempty in ("no", "strict", "unavailable") and not any(
            q.available(m, core.now) and self.within_penalty(q, m) for m in q.members.values()
        ):
            return self._leave_without_joining("JOINEMPTY")
        self.q = q
        for name in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT", "QUEUEWAIT_MS"):
            core.set_var(ch, name, "")
        timeout = self.args[4] if len(self.args) > 4 else ""
        start = core.now
        expire = int(start) + int(timeout) if timeout.isdigit() and int(timeout) > 0 else 0
        self.entry = QueueEntry(ch, start, len(q.entries) + 1, len(q.entries) + 1, expire)
        q.entries.append(self.entry)
        core.set_device_state(f"Queue:{q.name}", "RINGING")
        core.channel_event("QueueCallerJoin", ch, ("Queue", q.name), ("Position", str(self.entry.pos)),
                           ("Count", str(len(q.entries))), category="agent")
        if not self.ringing:
            core.channel_event("MusicOnHoldStart", ch, ("Class", "default"))
        else:
            self.runner.sounds_to_peer()  # the ringing tone: media for a Local ;2 in Answer()
        ch.on_hangup_request = self.caller_hungup
        if ch.far is not None:
            ch.far.joined_queue()
        self.check()

    def _leave_without_joining(self, status: str) -> None:
        self.core.set_var(self.ch, "QUEUESTATUS", status)
        self.runner.resume()

    # -- the wait loop -------------------------------------------------------------------
    def _later(self, delay: float, fn: object) -> None:
        assert callable(fn)
        timer = self.core.sched.later(delay, fn)
        self.timers.append(timer)
        self.ch.timers.append(timer)

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    def expired(self) -> bool:
        assert self.entry is not None
        return bool(self.entry.expire) and int(self.core.now) >= self.entry.expire

    def our_turn(self) -> bool:
        q, entry = self.q, self.entry
        assert q is not None and entry is not None
        avl = sum(1 for m in q.members.values() if q.available(m, self.core.now))
        idx = q.entries.index(entry)
        return idx < avl and (q.autofill or entry.pos == 1)

    def check(self) -> None:
        if self.done or self.ch.dead:
            return
        if self.expired():
            return self.timed_out()
        if not self.our_turn():
            self._later(RECHECK, self.check)
            return
        self.try_calling()

    def callable_members(self) -> list[Member]:
        q = self.q
        assert q is not None
        return [
            m for m in q.members.values() if q.available(m, self.core.now) and not m.ringing and self.within_penalty(q, m)
        ]

    def within_penalty(self, q: Queue, m: Member) -> bool:
        """calc_metric(): a member whose penalty is outside the caller's QUEUE_MIN_PENALTY..
        QUEUE_MAX_PENALTY is never rung (unless the queue has no more members than
        penaltymemberslimit). is_our_turn() counts every available member all the same."""
        if len(q.members) <= q.penaltymemberslimit:
            return True
        return not (
            (self.max_penalty is not None and m.penalty > self.max_penalty)
            or (self.min_penalty is not None and m.penalty < self.min_penalty)
        )

    def pick(self) -> list[Member]:
        q = self.q
        assert q is not None
        members = self.callable_members()
        if not members:
            return []
        if q.strategy == "ringall":
            return members
        order = list(q.members.values())
        if q.strategy in ("rrmemory", "rrordered", "roundrobin"):
            return [self._round_robin(q, order, members)]
        if q.strategy == "leastrecent":
            return [min(members, key=lambda m: m.lastcall)]
        if q.strategy == "fewestcalls":
            return [min(members, key=lambda m: m.calls)]
        if q.strategy in ("random", "wrandom"):
            return [self.core.call_rng(self.ch).choice(members)]
        return [members[0]]  # linear

    @staticmethod
    def _round_robin(q: Queue, order: list[Member], members: list[Member]) -> Member:
        """calc_metric() and store_next_rr(): ring the first member at or after ``rrpos``;
        then ``rrpos`` moves to the best of the members not tried yet."""

        position = {m: i for i, m in enumerate(order)}  # members compare by identity

        def metric(m: Member) -> int:
            pos = position[m]
            return pos if pos >= q.rrpos else 1000 + pos

        ranked = sorted(order, key=metric)
        wrapped = len(order) - 1 > q.rrpos  # some member sits after rrpos
        callable_now = set(members)
        at = next(i for i, m in enumerate(ranked) if m in callable_now)
        chosen, rest = ranked[at], ranked[at + 1 :]
        if rest:
            q.rrpos = metric(rest[0]) % 1000
        else:
            q.rrpos = 0 if wrapped else q.rrpos + 1
        return chosen

    def try_calling(self) -> None:
        q, core = self.q, self.core
        assert q is not None
        chosen = self.pick()
        for m in chosen:
            self.ring(m)
        if not self.attempts:
            return self.after_try()
        if q.timeoutpriority == "app" and self.entry and self.entry.expire and (
            not q.timeout or self.entry.expire - int(core.now) <= q.timeout
        ):
            limit = float(self.entry.expire - int(core.now))
        else:
            limit = float(q.timeout) if q.timeout else 0.0
        self.ring_timer_limit = limit
        if limit > 0:
            self._later(limit, self.ring_timeout)

    def ring(self, m: Member) -> None:
        q, core, caller = self.q, self.core, self.ch
        assert q is not None
        target = parse_target(m.interface)
        if target is None:
            return
        behaviour = core.agent_behaviour(target, m) if target.tech == "PJSIP" else None
        if target.tech == "PJSIP" and behaviour is None:
            return
        one = request(
            core, target, linkedid=caller.linkedid,
            endpoint_context=core.endpoint_context(target.where) if target.tech == "PJSIP" else "default",
        )
        core.set_app(one, "AppQueue", "(Outgoing Line)")
        if caller.cid_num or caller.cid_name:
            core.set_callerid(one, caller.cid_num, caller.cid_name)
        core.set_var(one, "DIALEDPEERNUMBER", target.resource)
        one.exten = caller.exten  # app_queue: "Inherit context and extension"
        dial = Dial(core, caller, one, m.interface, self, "queue")
        m.ringing = True
        q.last_member = m.interface
        attempt = Attempt(m, one, dial, core.now)
        self.attempts.append(attempt)
        called = [*caller.block(), *one.block("Dest"), ("Queue", q.name), ("Interface", m.interface),
                  ("MemberName", m.name)]
        one.on_hangup_request = dial.remote_hangup
        if target.tech == "Local":
            two = call_local(core, one, dial, before_begin=[("AgentCalled", called)])
            if two is None:
                self.attempts.remove(attempt)
                m.ringing = False
                core.hangup(one, 0)
                return
            runner = Runner(core, two, target.where, target.exten, 1)
            core.sched.defer(runner.start)
        else:
            core.emit("AgentCalled", "agent", called)
            dial.begin()
            assert behaviour is not None
            FarEnd(core, one, behaviour).start(dial)

    def _end_attempts(self, first_status: str | None, cause: int = 0) -> None:
        """hangupcalls(): every leg still ringing gets DialEnd and is hung up
        (with ``cause`` 26, answered elsewhere, when another member answered)."""
        for a in list(self.attempts):
            a.member.ringing = False
            if a.channel.dead:
                continue
            a.dial.done = True
            a.channel.dial = None
            if first_status:
                a.dial.end_event(first_status)
            a.dial.end_event("CANCEL")
            self.core.hangup(a.channel, cause)
        self.attempts.clear()

    def ring_timeout(self) -> None:
        if self.done or not self.attempts:
            return
        q = self.q
        assert q is not None
        for a in self.attempts:
            self.core.emit("AgentRingNoAnswer", "agent", [
                *self.ch.block(), *a.channel.block("Dest"), ("Queue", q.name), ("Interface", a.member.interface),
                ("MemberName", a.member.name), ("RingTime", str(round(self.ring_timer_limit * 1000))),
            ])
        self._end_attempts("NOANSWER")
        self.after_try()

    def after_try(self) -> None:
        if self.done:
            return
        if self.expired():
            return self.timed_out()
        q = self.q
        assert q is not None
        self._later(float(q.retry), self.check)

    # -- DialOwner -------------------------------------------------------------------
    def dial_ringing(self, dial: Dial) -> None:
        return None

    def early_failure(self) -> bool:
        return False

    def dial_failed(self, dial: Dial, reason: int) -> None:
        for a in list(self.attempts):
            if a.dial is dial:
                a.member.ringing = False
                self.attempts.remove(a)
        if not self.attempts and not self.done:
            self.cancel_timers()
            self.after_try()

    def dial_answered(self, dial: Dial) -> None:
        if self.done:
            return
        attempt = next(a for a in self.attempts if a.dial is dial)
        self.attempts.remove(attempt)
        attempt.member.ringing = False
        self._end_attempts(None, cause=26)
        self.cancel_timers()
        connect(self, attempt.member, attempt.channel, attempt.started)

    # -- endings ---------------------------------------------------------------------
    def timed_out(self) -> None:
        self._end_attempts(None)
        self.record_abandoned()
        self.stop(status="TIMEOUT", hangup=False)

    def caller_hungup(self, cause: int) -> None:
        if self.done:
            return
        for a in list(self.attempts):
            a.member.ringing = False
            if not a.channel.dead:
                a.dial.done = True
                a.channel.dial = None
                a.dial.end_event("CANCEL")
                a.dial.end_event("CANCEL")
                self.core.hangup(a.channel, 0)
        self.attempts.clear()
        self.stop(status=None, hangup=True, abandoned=True)

    def record_abandoned(self) -> None:
        q, entry, core = self.q, self.entry, self.core
        assert q is not None and entry is not None
        core.set_var(self.ch, "ABANDONED", "TRUE")
        self.set_queue_variables(self.ch)
        hold = int(core.now) - int(entry.start)
        if hold <= q.servicelevel:
            q.abandoned_in_sl += 1
        q.abandoned += 1
        core.channel_event("QueueCallerAbandon", self.ch, ("Queue", q.name), ("Position", str(entry.pos)),
                           ("OriginalPosition", str(entry.opos)), ("HoldTime", str(hold)), category="agent")

    def set_queue_variables(self, ch: Channel) -> None:
        q = self.q
        assert q is not None
        if q.setqueuevar:
            for name, value in q.variables():
                self.core.set_var(ch, name, value)

    def duration_vars(self) -> None:
        core, ch, entry = self.core, self.ch, self.entry
        assert entry is not None
        if not ch.variables.get("QUEUEWAIT"):
            set_duration(core, ch, "QUEUEWAIT", (int(core.now) - int(entry.start)) * 1000)
        if not ch.variables.get("DIALEDTIME"):
            set_duration(core, ch, "DIALEDTIME", round((core.now - ch.created) * 1000))
        if not ch.variables.get("ANSWEREDTIME"):
            set_duration(core, ch, "ANSWEREDTIME", 0)

    def leave(self) -> None:
        q, entry, core = self.q, self.entry, self.core
        assert q is not None and entry is not None
        if entry not in q.entries:
            return
        q.entries.remove(entry)
        for pos, other in enumerate(q.entries, 1):
            other.pos = pos
        if not q.entries:
            core.set_device_state(f"Queue:{q.name}", "NOT_INUSE")
        core.channel_event("QueueCallerLeave", self.ch, ("Queue", q.name), ("Position", str(entry.pos)),
                           ("Count", str(len(q.entries))), category="agent")
        core.set_var(self.ch, "QUEUEPOSITION", str(entry.pos))

    def stop(self, *, status: str | None, hangup: bool, abandoned: bool = False) -> None:
        """The end of queue_exec(): durations, abandon, queue variables, leave, result."""
        self.done = True
        self.cancel_timers()
        self.duration_vars()
        if abandoned and self.entry is not None and not self.entry.handled:
            self.record_abandoned()
        if not hangup and not self.ringing:
            self.core.channel_event("MusicOnHoldStop", self.ch)
        self.set_queue_variables(self.ch)
        self.leave()
        if status is not None:
            self.core.set_var(self.ch, "QUEUESTATUS", status)
        if hangup:
            self.runner.finish_hangup()
        else:
            self.runner.resume()


def _penalty(text: str | None) -> int | None:
    """sscanf("%30d"): a leading integer, or no limit (None) when there is none."""
    match = re.match(r"\s*([+-]?\d+)", text or "")
    return int(match.group(1)) if match else None
