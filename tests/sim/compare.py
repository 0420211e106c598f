"""Comparing a replay with its recording, structurally.

Ids Asterisk generates (Uniqueid numbers, channel suffixes, bridge ids) are
mapped to canonical names by the order their channels appear (the n-th channel
of Local/101@agents). Messages are grouped into streams (one per channel,
device, queue member, bridge and action) and each stream must hold the same
messages with the same key fields; within a stream the "anchor" events must come
in the same order, and each anchor must come as long after the stream's first
one as it did in the recording. Everything else may interleave, as it does
between real runs (OriginateResponse, VarSet, DeviceStateChange,
QueueMemberStatus).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.sim.replay import Message, Replay, device_of, recorded_messages

ANCHORS = frozenset({
    "Newchannel", "Newstate", "DialState", "DialEnd", "LocalBridge", "QueueCallerJoin", "AgentCalled",
    "AgentRingNoAnswer", "AgentConnect", "QueueCallerAbandon", "QueueCallerLeave", "BridgeEnter", "BridgeLeave",
    "SoftHangupRequest", "HangupRequest", "Hangup", "Newexten", "QueueMemberAdded", "QueueMemberRemoved",
    "QueueMemberStatus", "QueueMemberPause", "BridgeCreate", "BridgeDestroy",
})
# Headers whose values are not compared: clocks, addresses, media statistics.
FREE = frozenset({
    "Privilege", "Timestamp", "EventTV", "SessionTV", "SessionID", "LocalAddress", "RemoteAddress", "Uptime",
    "LastReload", "To", "From", "MES", "SSRC", "PT", "ReportCount", "SentNTP", "SentRTP", "SentPackets",
    "SentOctets", "Duration", "ApplicationData",
})
# Caller id, connected line, priority and exten of a channel are snapshot details:
# the name of the header is compared, its value is not.
SNAPSHOT = re.compile(r"^(Dest|LocalOne|LocalTwo)?(CallerIDNum|CallerIDName|ConnectedLineNum|ConnectedLineName|"
                      r"Priority|Exten|ChannelState|Language|AccountCode)$")
# Events that answer an action: when they happen is when the action was sent.
ACTION_DRIVEN = frozenset({"QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause"})
EPOCHS = frozenset({"LastCall", "LastPause", "LoginTime", "Ping"})
# VarSet values that are clocks or media statistics.
# QUEUECOMPLETED/QUEUETALKTIME/QUEUEHOLDTIME: when the call that just ended is counted races with
# setting them (transcript 01 vs 15); QueueParams (16) checks the counters themselves.
FREE_VARS = re.compile(r"^(RTPAUDIOQOS.*|BRIDGEPVTCALLID|ANSWEREDTIME_MS|DIALEDTIME_MS|DIALEDTIME|ANSWEREDTIME|"
                       r"MEMBERLASTCALL|QUEUECOMPLETED|QUEUETALKTIME|QUEUEHOLDTIME)$")
# The hangup's ${EPOCH} in olive's AstDB outcome (CONNECTED|...|<end>): Unix seconds, so a replayed
# session that runs a fraction of a second off the recording (the scaled clock under load) may
# write the next second. When the hangup came is checked by the anchor events' timing instead.
OUTCOME_EPOCH = re.compile(r"(?<=\|)1\d{9}(?=\||$)")
# Pairs that keep their order in a stream even where the rest may interleave.
BEFORE = (("Newchannel", "DialBegin"), ("DialBegin", "DialState"), ("DialBegin", "DialEnd"),
          ("AgentConnect", "AgentComplete"), ("AgentComplete", "Hangup"), ("QueueCallerJoin", "AgentCalled"))
class Canon:
    """Maps generated ids to names that mean the same in the recording and the replay."""

    def __init__(self, messages: list[Message]) -> None:
        self.names: dict[str, str] = {}
        self.uids: dict[str, str] = {}
        self.bridges: dict[str, str] = {}
        seen: Counter[str] = Counter()
        for m in messages:
            if m.kind == "Newchannel":
                name, uid = m.get("Channel") or "", m.get("Uniqueid") or ""
                device = device_of(name)
                leg = name[-2:] if name[-2:] in (";1", ";2") else ""
                if leg != ";2":
                    seen[device] += 1
                canon = f"{device}#{seen[device]}{leg}"
                self.names[name] = canon
                self.uids[uid] = f"uid:{canon}"
            elif m.kind == "BridgeCreate":
                bid = m.get("BridgeUniqueid") or ""
                self.bridges.setdefault(bid, f"bridge#{len(self.bridges) + 1}")
        keys = sorted(self.names, key=len, reverse=True)
        self._names_re = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def value(self, header: str, value: str) -> str:
        if value in self.uids:
            return self.uids[value]
        if value in self.bridges:
            return self.bridges[value]
        if value in self.names:
            return self.names[value]
        if self._names_re is not None:
            value = self._names_re.sub(lambda mm: self.names[mm.group(0)], value)
        return value


def normalize(m: Message, canon: Canon) -> tuple[str, tuple[tuple[str, str], ...]]:
    out = []
    variable = m.get("Variable") if m.kind == "VarSet" else None
    for name, value in m.headers:
        if (name in FREE or SNAPSHOT.match(name) or (name == "ActionID" and m.kind != "Response")
                or (m.kind in ("DialBegin", "AgentCalled") and name == "DestChannelStateDesc")):
            out.append((name, "*"))
        elif name in EPOCHS:
            out.append((name, "0" if value == "0" else "<epoch>"))
        elif name == "Value" and variable and FREE_VARS.match(variable):
            out.append((name, "*"))
        elif name == "BridgeId" and value:
            out.append((name, canon.value(name, value)))
        elif name in ("AppData", "Val", "Value") and "|" in value:
            out.append((name, canon.value(name, OUTCOME_EPOCH.sub("<epoch>", value))))
        else:
            out.append((name, canon.value(name, value)))
    return m.kind, tuple(out)


def stream_of(m: Message, canon: Canon) -> str:
    for header in ("Channel", "DestChannel", "LocalOneChannel"):
        v = m.get(header)
        if v and m.kind not in ("OriginateResponse",):
            return canon.value(header, v)
    if m.kind in ("BridgeCreate", "BridgeDestroy"):
        return canon.value("", m.get("BridgeUniqueid") or "")
    if m.kind == "DeviceStateChange":
        return f"device:{m.get('Device')}"
    if m.kind.startswith("QueueMember") and m.kind != "QueueMember":
        return f"member:{m.get('Queue')}:{m.get('Interface')}"
    aid = m.get("ActionID")
    if aid:
        return f"action:{aid}"
    return f"session:{m.kind}"


@dataclass
class Report:
    name: str
    problems: list[str] = field(default_factory=list)
    compared: int = 0
    timing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# Races the recording lost to one side and the simulator to the other. In 15 two callers
# enter the queue in the same millisecond and two agents are free: which caller rings which
# agent is a thread race in Asterisk. The comparison accepts either pairing.
SYMMETRIES: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    # (from this time on, swap these names; the race is at 5.007 s, the call before it ends at 3 s)
    "15_concurrent_10_calls": (4.5, (("102@agents", "103@agents"), ("agent102", "agent103"), ("102", "103"))),
}


def _swap(messages: list[Message], since: float, pairs: tuple[tuple[str, str], ...]) -> list[Message]:
    def swap(value: str) -> str:
        for a, b in pairs:
            if value in (a, b):
                return b if value == a else a
            if "@" in a or not a.isdigit():
                value = value.replace(a, "\0").replace(b, a).replace("\0", b)
        return value

    return [
        Message(m.t, m.kind, tuple((n, swap(v)) for n, v in m.headers)) if m.t >= since else m for m in messages
    ]


def absent_from_build(replay: Replay) -> frozenset[str]:
    """Events the recording Asterisk could not send, as its header says ("# Not in this
    build: A, B"): a module left out of the build or a class left unconfigured, not
    Asterisk behaviour. The simulator's such events are not compared."""
    m = re.search(r"^# Not in this build: ([^(\n]+)", replay.transcript.header, re.M)
    return frozenset(n.strip() for n in m.group(1).split(",")) if m else frozenset()


def compare(replay: Replay, *, time_tolerance: float = 0.25) -> Report:
    absent = absent_from_build(replay)
    if absent:
        replay.received = [m for m in replay.received if m.kind not in absent]
    report = _compare(replay, replay.received, time_tolerance)
    symmetry = SYMMETRIES.get(replay.name)
    if symmetry and report.problems:
        since, pairs = symmetry
        swapped = _compare(replay, _swap(replay.received, since, pairs), time_tolerance)
        if len(swapped.problems) < len(report.problems):
            swapped.notes.append(f"accepted the equivalent pairing {pairs}")
            return swapped
    return report


# Whole-second durations app_queue computes as time(NULL) differences, and the events
# that mark their two ends in the same channel stream.
SECONDS = {
    ("AgentConnect", "HoldTime"): ("QueueCallerJoin", "AgentConnect"),
    ("AgentComplete", "HoldTime"): ("QueueCallerJoin", "AgentConnect"),
    ("AgentComplete", "TalkTime"): ("AgentConnect", "AgentComplete"),
    ("QueueCallerAbandon", "HoldTime"): ("QueueCallerJoin", "QueueCallerAbandon"),
}


def _epoch(m: Message | None) -> float | None:
    ts = m.get("Timestamp") if m else None
    return float(ts) if ts else None


# app_queue's running averages of those durations (QueueParams, QueueSummary), each
# (3 * old + new) / 4 in whole seconds: one call's boundary crossing moves them by at most 1.
AVERAGES = {
    ("QueueParams", "TalkTime"): "TalkTime", ("QueueSummary", "TalkTime"): "TalkTime",
    ("QueueParams", "Holdtime"): "HoldTime", ("QueueSummary", "HoldTime"): "HoldTime",
}


def _average_fix(want: list[Message], got: list[Message], shifted: set[str]) -> list[Message]:
    """Take back the one-second move of a queue's average that a crossing undone by
    :func:`_second_fix` caused (only for a duration that did cross, in this replay)."""
    out, seen = [], Counter[str]()
    for m in got:
        seen[m.kind] += 1
        mine = [x for x in want if x.kind == m.kind]
        twin = mine[seen[m.kind] - 1] if len(mine) >= seen[m.kind] else None
        headers = list(m.headers)
        for i, (name, value) in enumerate(headers):
            base = AVERAGES.get((m.kind, name))
            recorded = twin.get(name) if twin is not None and base in shifted else None
            if recorded is not None and value.isdigit() and recorded.isdigit() and abs(int(value) - int(recorded)) == 1:
                headers[i] = (name, recorded)
        out.append(Message(m.t, m.kind, tuple(headers)))
    return out


def _second_fix(want: list[Message], got: list[Message], shifted: set[str] | None = None) -> list[Message]:
    """Undo the whole-second boundary crossings caused by replaying a few ms off the recording.

    A duration of whole seconds is int(end) - int(start). When the replay's start or end
    falls on the other side of a second boundary than the recording's, the value moves by
    one with nothing else changed: that shift is computed from the two pairs of
    timestamps and taken back before comparing.
    """
    out = []
    for m in got:
        headers = list(m.headers)
        for i, (name, value) in enumerate(headers):
            ends = SECONDS.get((m.kind, name))
            if ends is None or not value.lstrip("-").isdigit():
                continue
            w = [next((x for x in want if x.kind == k), None) for k in ends]
            g = [next((x for x in got if x.kind == k), None) for k in ends]
            times = [_epoch(x) for x in (*w, *g)]
            if None in times:
                continue
            ws, we, gs, ge = (t for t in times if t is not None)
            shift = (int(ge) - int(gs)) - (int(we) - int(ws))
            if shift and shifted is not None:
                shifted.add(name)
            headers[i] = (name, str(int(value) - shift))
        out.append(Message(m.t, m.kind, tuple(headers)))
    return out


def _compare(replay: Replay, got: list[Message], time_tolerance: float) -> Report:
    report = Report(replay.name)
    want = recorded_messages(replay.transcript)
    cw, cg = Canon(want), Canon(got)
    streams_w: dict[str, list[tuple[Message, tuple[str, tuple[tuple[str, str], ...]]]]] = defaultdict(list)
    streams_g: dict[str, list[tuple[Message, tuple[str, tuple[tuple[str, str], ...]]]]] = defaultdict(list)
    for m in want:
        streams_w[stream_of(m, cw)].append((m, normalize(m, cw)))
    raw_w: dict[str, list[Message]] = defaultdict(list)
    raw_g: dict[str, list[Message]] = defaultdict(list)
    for m in want:
        raw_w[stream_of(m, cw)].append(m)
    for m in got:
        raw_g[stream_of(m, cg)].append(m)
    shifted: set[str] = set()
    fixed = {key: _second_fix(raw_w.get(key, []), msgs, shifted) for key, msgs in raw_g.items()}
    for key, msgs in fixed.items():
        for m in _average_fix(raw_w.get(key, []), msgs, shifted) if shifted else msgs:
            streams_g[key].append((m, normalize(m, cg)))
    for key in sorted(set(streams_w) | set(streams_g)):
        w, g = streams_w.get(key, []), streams_g.get(key, [])
        if key.startswith("device:Local/"):
            # Local device states are computed by another thread after the change that
            # triggered them: how many come is fixed, what each says races; the last is settled.
            w, g = _loose(w), _loose(g)
        cw_ = Counter(n for _, n in w)
        cg_ = Counter(n for _, n in g)
        missing, extra = cw_ - cg_, cg_ - cw_
        for n, c in missing.items():
            report.problems.append(f"[{key}] missing {c}x {_show(n)}")
        for n, c in extra.items():
            report.problems.append(f"[{key}] unexpected {c}x {_show(n)}")
        aw = [n for _, n in w if n[0] in ANCHORS]
        ag = [n for _, n in g if n[0] in ANCHORS]
        if not missing and not extra and aw != ag:
            report.problems.append(f"[{key}] order differs:\n  recorded: {[x[0] for x in aw]}\n  simulated: {[x[0] for x in ag]}")
        kinds_g = [n[0] for _, n in g]
        for a, b in BEFORE:
            if a in kinds_g and b in kinds_g and kinds_g.index(a) > kinds_g.index(b):
                report.problems.append(f"[{key}] {b} before {a}")
        report.compared += len(w)
        if not missing and not extra:
            # Times are compared from the stream's first anchor: a busy machine may start a
            # scene late, but inside it every ring, wait and timeout must last what it lasted.
            timed = ANCHORS - ACTION_DRIVEN
            anchors_w = [x for x in w if x[1][0] in timed]
            anchors_g = [x for x in g if x[1][0] in timed]
            if anchors_w and anchors_g:
                t0w, t0g = anchors_w[0][0].t, anchors_g[0][0].t
                for (mw, nw), (mg, ng) in zip(anchors_w, anchors_g, strict=False):
                    if nw == ng and abs((mw.t - t0w) - (mg.t - t0g)) > time_tolerance:
                        report.timing.append(
                            f"[{key}] {nw[0]} at +{mg.t - t0g:.3f}s into the stream, recorded +{mw.t - t0w:.3f}s"
                        )
    return report


Normalized = tuple[str, tuple[tuple[str, str], ...]]


def _loose(stream: list[tuple[Message, Normalized]]) -> list[tuple[Message, Normalized]]:
    out = []
    for i, (m, (kind, headers)) in enumerate(stream):
        if i < len(stream) - 1:
            headers = tuple((n, "*" if n == "State" else v) for n, v in headers)
        out.append((m, (kind, headers)))
    return out


def _show(n: tuple[str, tuple[tuple[str, str], ...]]) -> str:
    kind, headers = n
    shown = [f"{k}={v}" for k, v in headers if v != "*" and k not in ("Event",)]
    return f"{kind} " + " ".join(shown)


__all__ = ["ANCHORS", "Report", "compare"]
