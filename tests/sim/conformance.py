"""Replaying the recorded Asterisk 22 sessions against the simulator, and comparing.

The transcripts come from two runs of one Asterisk (01-09, then 13, 14, 12,
11, 10, 15, 16, 17 after a restart): counters, queue members and queue
statistics carry over from one recording to the next. So each run is replayed
on one simulator, in recording order, on a clock that starts at the recording's
own epoch; each transcript gets its own AMI session, connected when the
recorder connected, sending its own actions at their recorded times. The
unrecorded "queues were emptied" step before some recordings is done the same
way, on a separate session. RAND() is pinned to the values each recording drew.

Comparison is structural. Ids Asterisk generates (Uniqueid numbers, channel
suffixes, bridge ids) are mapped to canonical names by the order their channels
appear (the n-th channel of Local/101@agents). Messages are grouped into
streams (one per channel, device, queue member, bridge and action) and each
stream must hold the same messages with the same key fields; within a stream
the "anchor" events must come in the same order. Everything else may
interleave, as it does between real runs (OriginateResponse, VarSet,
DeviceStateChange, QueueMemberStatus).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from tests.support.transcripts import ROOT, Entry, Transcript, load

from olive.ami import NEED_DATA as _NEED
from olive.ami import AMICodec, Banner, Event, MalformedMessage, Response, Role
from olive.clock import ScaledClock
from olive.sim import SimulatedPBX
from olive.sim._dialplan import parse_extensions

RUNS = (
    ("01_answered_connected_to_agent", "02_busy", "03_no_answer_timeout_5000", "04_congestion",
     "05_answered_no_agent_abandon", "06_timeout_30_ms", "07_nonexistent_number", "08_sipp_uas_answered",
     "09_sipp_uas_busy"),
    ("13_customer_hangup_while_agent_rings", "14_agent_paused", "12_queue_timeout_2s", "11_agent_no_answer",
     "10_originate_with_channelid", "15_concurrent_10_calls", "16_queue_status_snapshot",
     "17_events_filtered_login"),
)

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
EPOCHS = frozenset({"LastCall", "LastPause", "LoginTime", "Ping"})
# VarSet values that are clocks or media statistics.
# QUEUECOMPLETED/QUEUETALKTIME/QUEUEHOLDTIME: when the call that just ended is counted races with
# setting them (transcript 01 vs 15); QueueParams (16) checks the counters themselves.
FREE_VARS = re.compile(r"^(RTPAUDIOQOS.*|BRIDGEPVTCALLID|ANSWEREDTIME_MS|DIALEDTIME_MS|DIALEDTIME|ANSWEREDTIME|"
                       r"MEMBERLASTCALL|QUEUECOMPLETED|QUEUETALKTIME|QUEUEHOLDTIME)$")
# Pairs that keep their order in a stream even where the rest may interleave.
BEFORE = (("Newchannel", "DialBegin"), ("DialBegin", "DialState"), ("DialBegin", "DialEnd"),
          ("AgentConnect", "AgentComplete"), ("AgentComplete", "Hangup"), ("QueueCallerJoin", "AgentCalled"))
_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")


@dataclass
class Message:
    t: float  # seconds from the transcript's first Originate
    kind: str  # event name, or "Response"
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        for n, v in self.headers:
            if n == name:
                return v
        return None


@dataclass
class Replay:
    name: str
    transcript: Transcript
    origin: float  # the epoch of the transcript's t=0
    received: list[Message] = field(default_factory=list)


def origin_of(t: Transcript) -> float:
    for e in t.received():
        ts = e.get("Timestamp")
        if ts and e.get("Event") not in ("SuccessfulAuth",):
            return float(ts) - e.t
    raise AssertionError(f"{t.name}: no timestamped event")


def emptied_queues(t: Transcript) -> list[str]:
    m = re.search(r"# Queues (\S+) were emptied", t.header)
    return m.group(1).split(",") if m else []


def rand_pins(t: Transcript) -> dict[str, list[int]]:
    """The values RAND() gave in the recording, per device, in order of the channels using it.

    A session logged in without the dialplan class (17) has no Newexten to read them
    from; there the customer's ring and talk times are read off its state changes, and
    agents, who did not end the call, get the longest talk time.
    """
    plan = parse_extensions((ROOT / "conf" / "extensions.conf").read_text())
    pins: dict[str, list[int]] = defaultdict(list)
    if not any(e.get("Event") == "Newexten" for e in t.received()):
        born: dict[str, float] = {}
        up: dict[str, float] = {}
        for e in t.received():
            name, kind = e.get("Channel") or "", e.get("Event")
            if not name.endswith(";2"):
                continue
            if kind == "Newchannel":
                born[name] = e.t
            elif kind == "Newstate" and e.get("ChannelStateDesc") == "Up":
                up[name] = e.t
            elif kind == "Hangup" and name in up:
                device = _device(name)
                if "@customers" in device and device.split("/")[1].startswith("1"):
                    pins[device] += [round(up[name] - born[name]), round(e.t - up[name])]
                elif "@agents" in device:
                    pins[device].append(60)
        return dict(pins)
    for e in t.received():
        if e.get("Event") != "Newexten":
            continue
        prio = plan.priority(e.get("Context") or "", e.get("Exten") or "", int(e.get("Priority") or 0))
        if prio is None or "RAND(" not in prio.data:
            continue
        data = e.get("AppData") or ""
        value = data.split("=", 1)[1] if prio.app == "Set" else data
        pins[_device(e.get("Channel") or "")].append(int(value))
    return dict(pins)


def _device(channel: str) -> str:
    return _SUFFIX.sub("", channel)


def _wire_messages(data: bytes, origin: float, arrivals: list[tuple[float, int]]) -> list[Message]:
    codec = AMICodec(Role.CLIENT)
    codec.receive_data(data)
    out: list[Message] = []
    while True:
        m = codec.next_message()
        if m is _NEED or not isinstance(m, (Banner, Event, Response, MalformedMessage)):
            break
        if isinstance(m, Banner):
            out.append(Message(0.0, "Banner", (("Banner", m.text),)))
        elif isinstance(m, Event):
            ts = m.get("Timestamp")
            out.append(Message(float(ts) - origin if ts else 0.0, m.name, m.headers))
        elif isinstance(m, Response):
            out.append(Message(0.0, "Response", m.headers))
    return out


def recorded_messages(t: Transcript) -> list[Message]:
    out = []
    for e in t.received():
        if e.is_banner:
            out.append(Message(e.t, "Banner", (("Banner", e.lines[0]),)))
            continue
        h = tuple(e.headers())
        kind = e.get("Event") or "Response"
        out.append(Message(e.t, kind, h))
    return out


async def _session(pbx: SimulatedPBX, clock: ScaledClock, replay: Replay, lead: float) -> None:
    """Send the recording's actions when the recorder sent them.

    An action the recorder sent after some event ("1 s after AgentConnect", or Logoff
    after the call ended) is sent the same time after the simulator's matching event,
    so that a stalled machine shifts the whole scene instead of tearing it apart.
    Actions sent before any call event go out at their recorded times.
    """
    t = replay.transcript
    sent = t.sent()
    start = replay.origin + sent[0].t - lead
    await clock.sleep(start - clock.now())
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
    chunks: list[bytes] = []
    seen: Counter[str] = Counter()
    progress = asyncio.Event()
    codec = AMICodec(Role.CLIENT)

    async def read() -> None:
        while data := await reader.read(65536):
            chunks.append(data)
            codec.receive_data(data)
            while isinstance(m := codec.next_message(), (Banner, Event, Response, MalformedMessage)):
                if isinstance(m, Event):
                    seen[m.name] += 1
            progress.set()

    task = asyncio.create_task(read())
    for batch in _batches(sent):
        trigger = _trigger(t, batch[0])
        if trigger is None:
            await clock.sleep(replay.origin + batch[0].t - clock.now())
        else:
            kind, count, gap = trigger
            deadline = clock.now() + 60.0 / clock.scale * clock.scale
            while seen[kind] < count and clock.now() < deadline:
                progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progress.wait(), 0.05)
            await clock.sleep(gap)
        writer.write(b"".join(e.wire() for e in batch))
        await writer.drain()
    await asyncio.wait_for(task, 30)
    writer.close()
    replay.received = _wire_messages(b"".join(chunks), replay.origin, [])


def _batches(sent: list[Entry]) -> list[list[Entry]]:
    """Actions recorded in the same millisecond went out back to back: send them together."""
    batches: list[list[Entry]] = []
    for e in sent:
        if batches and abs(batches[-1][0].t - e.t) < 0.0005:
            batches[-1].append(e)
        else:
            batches.append([e])
    return batches


# Events that answer an action: when they happen is when the action was sent.
_ACTION_DRIVEN = frozenset({"QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause"})
_TRIGGERS = ANCHORS - _ACTION_DRIVEN - {"QueueMemberStatus"}


def _trigger(t: Transcript, action: Entry) -> tuple[str, int, float] | None:
    """The last call event recorded before ``action``: (kind, how many so far, seconds after it)."""
    index = t.entries.index(action)
    before = [e for e in t.entries[:index] if e.direction == "recv" and e.get("Event") in _TRIGGERS]
    if not before:
        return None
    last = before[-1]
    kind = last.get("Event") or ""
    return kind, sum(1 for e in before if e.get("Event") == kind), max(0.0, action.t - last.t)


async def _empty(pbx: SimulatedPBX, clock: ScaledClock, queues: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
    lines = ["Action: Login\r\nUsername: olive\r\nSecret: olive\r\nEvents: off\r\n\r\n"]
    for q in queues:
        for m in pbx.queue_members(q):
            lines.append(f"Action: QueueRemove\r\nQueue: {q}\r\nInterface: {m.interface}\r\n\r\n")
    lines.append("Action: Logoff\r\n\r\n")
    writer.write("".join(lines).encode())
    await writer.drain()
    while await reader.read(65536):
        pass
    writer.close()


async def _warm_up(pbx: SimulatedPBX) -> None:
    """One throwaway session first, so the recordings do not pay for first-use costs."""
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
    writer.write(b"Action: Login\r\nUsername: olive\r\nSecret: olive\r\nEvents: off\r\n\r\n"
                 b"Action: QueueStatus\r\n\r\nAction: Logoff\r\n\r\n")
    await writer.drain()
    while await reader.read(65536):
        pass
    writer.close()


async def replay_run(names: Iterable[str], scale: float) -> dict[str, Replay]:
    replays = {n: Replay(n, load(n), origin_of(load(n))) for n in names}
    first = next(iter(replays.values()))
    clock = ScaledClock(scale, start=first.origin + first.transcript.sent()[0].t - 5.0)
    pbx = SimulatedPBX("lab", clock=clock)
    for r in replays.values():
        for device, values in rand_pins(r.transcript).items():
            pbx.core.rand_pins.setdefault(device, []).extend(values)
    await pbx.start()
    try:
        await _warm_up(pbx)
        for r in replays.values():
            emptied = emptied_queues(r.transcript)
            if emptied:
                await clock.sleep(r.origin + r.transcript.sent()[0].t - 2.0 - clock.now())
                await _empty(pbx, clock, emptied)
            await _session(pbx, clock, r, lead=0.05)
    finally:
        await pbx.stop()
    return replays


def _replay_in_process(run: tuple[str, ...], scale: float) -> dict[str, Replay]:
    return asyncio.run(replay_run(run, scale))


def replay_all(scale: float) -> dict[str, Replay]:
    """Both runs at once, each in its own process: one event loop per simulator keeps the
    delay between sending an action and its handling small, as on a real network."""
    with ProcessPoolExecutor(max_workers=len(RUNS)) as pool:
        parts = list(pool.map(_replay_in_process, RUNS, [scale] * len(RUNS)))
    return {k: v for part in parts for k, v in part.items()}


# -- comparison ---------------------------------------------------------------------------
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
                device = _device(name)
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


# Differences the simulator keeps, each explained in docs/simulator.md.
def allowed(kind: str) -> bool:
    return False


# Races the recording lost to one side and the simulator to the other. In 15 two callers
# enter the queue in the same millisecond and two agents are free: which caller rings which
# agent is a thread race in Asterisk. The comparison accepts either pairing.
SYMMETRIES: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    # (from this time on, swap these names)
    "15_concurrent_10_calls": (5.0, (("102@agents", "103@agents"), ("agent102", "agent103"), ("102", "103"))),
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


def compare(replay: Replay, *, time_tolerance: float = 0.25) -> Report:
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


def _second_fix(want: list[Message], got: list[Message]) -> list[Message]:
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
    for key, msgs in raw_g.items():
        for m in _second_fix(raw_w.get(key, []), msgs):
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
            if not allowed(n[0]):
                report.problems.append(f"[{key}] missing {c}x {_show(n)}")
        for n, c in extra.items():
            if not allowed(n[0]):
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
            timed = ANCHORS - _ACTION_DRIVEN
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


__all__ = ["RUNS", "Message", "Replay", "Report", "compare", "replay_all", "replay_run"]
