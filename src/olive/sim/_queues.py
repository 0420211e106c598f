"""app_queue's queues and members, and the AMI actions that manage them.

Member status follows the member's device state as app_queue's
device_state_cb does (a Local member is INUSE=2 while it rings, a PJSIP phone
RINGING=6); CallsTaken and LastCall change when the member's call ends.
QueueParams Holdtime/TalkTime are app_queue's exponential averages, and all
counters are cumulative since the PBX started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from olive.ami import Action, DeviceState, Event, Response

if TYPE_CHECKING:
    from olive.sim._core import Core
    from olive.sim._model import Channel

__all__ = ["DEVICE_STATUS", "Member", "Queue", "QueueEntry", "Queues", "list_response", "set_duration"]

DEVICE_STATUS: dict[str, int] = {s.name: s.value for s in DeviceState}
_TRUE = ("1", "true", "yes", "on", "y", "t")


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


@dataclass(eq=False)
class Member:
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    dynamic: bool = True
    calls: int = 0
    lastcall: int = 0
    lastpause: int = 0
    logintime: int = 0
    status: int = 1
    ringinuse: bool = False
    wrapuptime: int = 0
    starttime: int = 0  # when its current queue call was bridged (0: none)
    completed_in_sl: bool = False  # that call was answered within the queue's service level
    # What member events say as InCall: set just after the bridge, so a device state change the
    # call itself caused is reported before it (transcript 23: an agent answering at once).
    in_call: bool = False
    ringing: bool = False  # being rung by a caller right now (app_queue's pending member)

    @cached_property  # state_interface never changes; device states ask thousands of times a second
    def device(self) -> str:
        iface = self.state_interface
        if iface.lower().startswith("local/"):
            return iface.split("/", 2)[0] + "/" + iface.split("/", 2)[1]
        return iface


@dataclass(eq=False)
class QueueEntry:
    channel: Channel
    start: float
    pos: int
    opos: int
    expire: int = 0  # whole-second epoch after which Queue() gives up (0: never)
    handled: bool = False


@dataclass(eq=False)
class Queue:
    name: str
    strategy: str = "ringall"
    timeout: int = 15
    retry: int = 5
    wrapuptime: int = 0
    maxlen: int = 0
    joinempty: str = "yes"
    leavewhenempty: str = "no"
    ringinuse: bool = False
    autofill: bool = True
    setinterfacevar: bool = False
    setqueuevar: bool = False
    setqueueentryvar: bool = False
    timeoutpriority: str = "app"
    servicelevel: int = 0
    weight: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    entries: list[QueueEntry] = field(default_factory=list)
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    rrpos: int = 0
    last_member: str | None = None
    penaltymemberslimit: int = 0

    @classmethod
    def from_config(cls, name: str, conf: dict[str, str]) -> Queue:
        q = cls(name)
        q.strategy = conf.get("strategy", "ringall").strip().lower()
        q.timeout = int(conf.get("timeout", "15") or 15)
        retry = int(conf.get("retry", "5") or 5)
        q.retry = retry if retry > 0 else 5  # app_queue: retry <= 0 means the default, 5
        q.wrapuptime = int(conf.get("wrapuptime", "0") or 0)
        q.maxlen = int(conf.get("maxlen", "0") or 0)
        q.joinempty = conf.get("joinempty", "yes").strip().lower()
        q.leavewhenempty = conf.get("leavewhenempty", "no").strip().lower()
        q.ringinuse = truthy(conf.get("ringinuse", "yes"))
        q.autofill = truthy(conf.get("autofill", "yes"))
        q.setinterfacevar = truthy(conf.get("setinterfacevar"))
        q.setqueuevar = truthy(conf.get("setqueuevar"))
        q.setqueueentryvar = truthy(conf.get("setqueueentryvar"))
        q.timeoutpriority = conf.get("timeoutpriority", "app").strip().lower()
        q.servicelevel = int(conf.get("servicelevel", "0") or 0)
        q.weight = int(conf.get("weight", "0") or 0)
        limit = (conf.get("penaltymemberslimit") or "0").strip()
        q.penaltymemberslimit = int(limit) if limit.isdigit() else 0
        return q

    def sl_perf(self) -> str:
        perf = 100.0 * self.completed_in_sl / self.completed if self.completed > 0 else 0.0
        return f"{perf:.1f}"

    def sl_perf2(self) -> str:
        total = self.completed + self.abandoned
        perf = 100.0 * (self.abandoned_in_sl + self.completed_in_sl) / total if total else 0.0
        return f"{perf:.1f}"

    def wrapup(self, m: Member) -> int:
        return m.wrapuptime if m.wrapuptime > 0 else self.wrapuptime

    def available(self, m: Member, now: float) -> bool:
        """is_member_available(): status, pause and wrap-up time."""
        ok = False
        if m.status in (2, 3, 6, 7, 8):
            ok = m.ringinuse and not m.paused
        elif m.status in (1, 0):
            ok = not m.paused
        wrapup = self.wrapup(m)
        if m.lastcall and wrapup and int(now) - wrapup < m.lastcall:
            ok = False
        return ok

    def variables(self) -> list[tuple[str, str]]:
        """set_queue_variables()."""
        return [
            ("QUEUENAME", self.name), ("QUEUEMAX", str(self.maxlen)), ("QUEUESTRATEGY", self.strategy),
            ("QUEUECALLS", str(len(self.entries))), ("QUEUEHOLDTIME", str(self.holdtime)),
            ("QUEUETALKTIME", str(self.talktime)), ("QUEUECOMPLETED", str(self.completed)),
            ("QUEUEABANDONED", str(self.abandoned)), ("QUEUESRVLEVEL", str(self.servicelevel)),
            ("QUEUESRVLEVELPERF", self.sl_perf()),
        ]


class Queues:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.queues: dict[str, Queue] = {}
        # Members by lower-case device, in queue then member order; rebuilt after QueueAdd or
        # QueueRemove, so a device state change does not walk every member of every queue.
        self._by_device: dict[str, list[tuple[Queue, Member]]] | None = None
        core.device_listeners.append(self._device_changed)

    # -- events -----------------------------------------------------------------------
    def member_headers(self, q: Queue, m: Member) -> list[tuple[str, str]]:
        return [
            ("Queue", q.name), ("MemberName", m.name), ("Interface", m.interface),
            ("StateInterface", m.state_interface), ("Membership", "dynamic" if m.dynamic else "static"),
            ("Penalty", str(m.penalty)), ("CallsTaken", str(m.calls)), ("LastCall", str(m.lastcall)),
            ("LastPause", str(m.lastpause)), ("LoginTime", str(m.logintime)), ("InCall", "1" if m.in_call else "0"),
            ("Status", str(m.status)), ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason),
            ("Ringinuse", "1" if m.ringinuse else "0"), ("Wrapuptime", str(m.wrapuptime)),
        ]

    def member_event(self, name: str, q: Queue, m: Member) -> None:
        self.core.emit(name, "agent", self.member_headers(q, m))

    def update_avail(self, q: Queue) -> None:
        avail = any(q.available(m, self.core.now) for m in q.members.values())
        self.core.set_device_state(f"Queue:{q.name}_avail", "NOT_INUSE" if avail else "INUSE")

    def _device_changed(self, device: str, state: str) -> None:
        status = DEVICE_STATUS.get(state, 0)
        if self._by_device is None:
            self._by_device = {}
            for q in self.queues.values():
                for m in q.members.values():
                    self._by_device.setdefault(m.device.lower(), []).append((q, m))
        last: Queue | None = None
        for q, m in self._by_device.get(device.lower(), ()):
            if last is not None and q is not last:
                self.update_avail(last)  # each queue's members, then its availability
            self.update_status(q, m, status)
            last = q
        if last is not None:
            self.update_avail(last)

    def update_status(self, q: Queue, m: Member, status: int) -> None:
        if m.status == status:
            return
        if status == 1:
            self.call_done(q, m)
        m.status = status
        self.member_event("QueueMemberStatus", q, m)

    def call_done(self, q: Queue, m: Member, starttime: int | None = None) -> None:
        """update_queue(): once per bridged call, when it ends."""
        if not m.starttime or (starttime is not None and starttime != m.starttime):
            return
        talk = int(self.core.now) - m.starttime
        m.starttime = 0
        m.in_call = False
        in_sl, m.completed_in_sl = m.completed_in_sl, False
        for other in self.queues.values():
            mem = other.members.get(m.interface)
            if mem is not None:
                mem.lastcall = int(self.core.now)
                mem.calls += 1
        q.completed += 1
        if in_sl:
            q.completed_in_sl += 1
        q.talktime = talk if q.completed == 1 else ((q.talktime << 2) - q.talktime + talk) >> 2

    def recalc_holdtime(self, q: Queue, hold: int) -> None:
        if q.completed + q.abandoned == 0:
            q.holdtime = hold
        else:
            q.holdtime = ((q.holdtime << 2) - q.holdtime + hold) >> 2

    def initial_status(self, m: Member) -> int:
        if m.device.lower().startswith("local/"):
            return DEVICE_STATUS.get(self.core.local_state(m.device), 0)
        return DEVICE_STATUS.get(self.core.endpoint_state(m.device), 0)

    # -- actions ------------------------------------------------------------------------
    def add(self, a: Action) -> str | None:
        """QueueAdd. Returns an error message, or None on success."""
        qname, iface = a.get("Queue") or "", a.get("Interface") or ""
        if not qname:
            return "'Queue' not specified."
        if not iface:
            return "'Interface' not specified."
        q = self.queues.get(qname)
        if q is None:
            return "Unable to add interface to queue: No such queue"
        if iface in q.members:
            return "Unable to add interface: Already there"
        now = int(self.core.now)
        m = Member(iface, a.get("MemberName") or iface, a.get("StateInterface") or iface)
        m.penalty = int(a.get("Penalty") or 0) if (a.get("Penalty") or "0").strip().lstrip("-").isdigit() else 0
        m.paused = truthy(a.get("Paused"))
        m.reason = (a.get("Reason") or "") if m.paused else ""
        m.wrapuptime = int(a.get("Wrapuptime") or 0) if (a.get("Wrapuptime") or "0").isdigit() else 0
        m.ringinuse = q.ringinuse
        m.logintime = now
        if m.paused:
            m.lastpause = now
        m.status = self.initial_status(m)
        q.members[iface] = m
        self._by_device = None
        self.core.sched.defer(lambda: self._added(q, m))
        return None

    def _added(self, q: Queue, m: Member) -> None:
        self.core.set_device_state(f"Queue:{q.name}_pause_{m.interface}", "INUSE" if m.paused else "NOT_INUSE")
        self.member_event("QueueMemberAdded", q, m)
        self.update_avail(q)

    def remove(self, a: Action) -> str | None:
        qname, iface = a.get("Queue") or "", a.get("Interface") or ""
        if not qname or not iface:
            return "Need 'Queue' and 'Interface' parameters."
        q = self.queues.get(qname)
        if q is None:
            return "Unable to remove interface from queue: No such queue"
        m = q.members.get(iface)
        if m is None:
            return "Unable to remove interface: Not there"
        if not m.dynamic:
            return "Member not dynamic"
        if list(q.members).index(iface) < q.rrpos:
            q.rrpos -= 1
        del q.members[iface]
        self._by_device = None

        def removed() -> None:
            self.member_event("QueueMemberRemoved", q, m)
            self.core.set_device_state(f"Queue:{q.name}_pause_{m.interface}", "NOT_INUSE")
            self.update_avail(q)

        self.core.sched.defer(removed)
        return None

    def pause(self, a: Action) -> str | None:
        iface, paused_s = a.get("Interface") or "", a.get("Paused") or ""
        if not iface or not paused_s:
            return "Need 'Interface' and 'Paused' parameters."
        paused = truthy(paused_s)
        qname = a.get("Queue") or ""
        targets = [
            (q, q.members[iface]) for q in self.queues.values()
            if iface in q.members and (not qname or q.name == qname)
        ]
        if not targets:
            return "Interface not found"
        reason = a.get("Reason") or ""
        for q, m in targets:
            m.paused = paused
            m.reason = reason if paused else ""
            m.lastpause = int(self.core.now) if paused else m.lastpause

            def paused_event(q: Queue = q, m: Member = m) -> None:
                self.core.set_device_state(f"Queue:{q.name}_pause_{m.interface}", "INUSE" if m.paused else "NOT_INUSE")
                self.update_avail(q)
                self.member_event("QueueMemberPause", q, m)

            self.core.sched.defer(paused_event)
        return None

    def status_events(self, a: Action) -> list[Event]:
        qfilter, mfilter = a.get("Queue") or "", a.get("Member") or ""
        aid = [("ActionID", a.action_id)] if a.action_id else []
        out: list[Event] = []
        now = self.core.now
        for q in self.queues.values():
            if qfilter and q.name.lower() != qfilter.lower():
                continue
            out.append(Event((
                ("Event", "QueueParams"), ("Queue", q.name), ("Max", str(q.maxlen)), ("Strategy", q.strategy),
                ("Calls", str(len(q.entries))), ("Holdtime", str(q.holdtime)), ("TalkTime", str(q.talktime)),
                ("Completed", str(q.completed)), ("Abandoned", str(q.abandoned)),
                ("ServiceLevel", str(q.servicelevel)), ("ServicelevelPerf", q.sl_perf()),
                ("ServicelevelPerf2", q.sl_perf2()), ("Weight", str(q.weight)), *aid,
            )))
            for m in q.members.values():
                if mfilter and mfilter not in (m.interface, m.name):
                    continue
                out.append(Event((
                    ("Event", "QueueMember"), ("Queue", q.name), ("Name", m.name), ("Location", m.interface),
                    ("StateInterface", m.state_interface), ("Membership", "dynamic" if m.dynamic else "static"),
                    ("Penalty", str(m.penalty)), ("CallsTaken", str(m.calls)), ("LastCall", str(m.lastcall)),
                    ("LastPause", str(m.lastpause)), ("LoginTime", str(m.logintime)),
                    ("InCall", "1" if m.starttime else "0"), ("Status", str(m.status)),
                    ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason),
                    ("Wrapuptime", str(m.wrapuptime)), *aid,
                )))
            for pos, e in enumerate(q.entries, 1):
                ch = e.channel
                out.append(Event((
                    ("Event", "QueueEntry"), ("Queue", q.name), ("Position", str(pos)), ("Channel", ch.name),
                    ("Uniqueid", ch.uniqueid), ("CallerIDNum", ch.cid_num or "unknown"),
                    ("CallerIDName", ch.cid_name or "unknown"), ("ConnectedLineNum", ch.conn_num or "unknown"),
                    ("ConnectedLineName", ch.conn_name or "unknown"), ("Wait", str(int(now - e.start))),
                    ("Priority", "0"), *aid,
                )))
        return out

    def summary_events(self, a: Action) -> list[Event]:
        qfilter = a.get("Queue") or ""
        aid = [("ActionID", a.action_id)] if a.action_id else []
        out: list[Event] = []
        now = self.core.now
        for q in self.queues.values():
            if qfilter and q.name.lower() != qfilter.lower():
                continue
            logged = sum(1 for m in q.members.values() if m.status not in (4, 5))
            avail = sum(1 for m in q.members.values() if m.status in (0, 1) and not m.paused)
            longest = int(now - q.entries[0].start) if q.entries else 0
            out.append(Event((
                ("Event", "QueueSummary"), ("Queue", q.name), ("LoggedIn", str(logged)), ("Available", str(avail)),
                ("Callers", str(len(q.entries))), ("HoldTime", str(q.holdtime)), ("TalkTime", str(q.talktime)),
                ("LongestHoldTime", str(longest)), *aid,
            )))
        return out


def set_duration(core: Core, ch: Channel, name: str, ms: int) -> None:
    """set_duration_var(): NAME in whole seconds and NAME_MS."""
    core.set_var(ch, name, str(ms // 1000))
    core.set_var(ch, f"{name}_MS", str(ms))


def list_response(a: Action, message: str) -> Response:
    headers = [("Response", "Success")]
    if a.action_id:
        headers.append(("ActionID", a.action_id))
    headers += [("EventList", "start"), ("Message", message)]
    return Response(tuple(headers))
