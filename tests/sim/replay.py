"""Replaying the recorded Asterisk 22 sessions against the simulator, and comparing.

The transcripts come from two runs of one Asterisk (01-09, then 13, 14, 12,
11, 10, 15, 16, 17 after a restart): counters, queue members and queue
statistics carry over from one recording to the next. So each run is replayed
on one simulator, in recording order, on a clock that starts at the recording's
own epoch; each transcript gets its own AMI session, connected when the
recorder connected, sending its own actions at their recorded times. The
unrecorded "queues were emptied" step before some recordings is done the same
way, on a separate session. RAND() is pinned to the values each recording drew.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.transcripts import ROOT, Entry, Transcript, load

from olive.ami import NEED_DATA as _NEED
from olive.ami import AMICodec, Banner, Event, MalformedMessage, Response, Role
from olive.clock import ManualClock
from olive.sim import SimulatedPBX, load_scenario
from olive.sim._dialplan import parse_extensions

RUNS = (
    ("01_answered_connected_to_agent", "02_busy", "03_no_answer_timeout_5000", "04_congestion",
     "05_answered_no_agent_abandon", "06_timeout_30_ms", "07_nonexistent_number", "08_sipp_uas_answered",
     "09_sipp_uas_busy"),
    ("13_customer_hangup_while_agent_rings", "14_agent_paused", "12_queue_timeout_2s", "11_agent_no_answer",
     "10_originate_with_channelid", "15_concurrent_10_calls", "16_queue_status_snapshot",
     "17_events_filtered_login"),
    # Recorded later on an Asterisk set up from docs/asterisk (olive's own dialplan with its
    # hangup handler, olive-test.conf's customers and agents): replayed on the e2e scenario
    # with the dialplan as it was then (recorded-19-22.toml).
    ("19_outcome_in_astdb_connected", "20_outcome_in_astdb_abandoned"),
    # app_amd on a real Asterisk 22 set up from docs/asterisk with transmit_silence = yes
    # (docs/asterisk-setup.md): the [olive-amd] dialplan as it was then (recorded-23-26.toml)
    # and olive-test.conf's 8xxx, 9xxx and 1xxx customers.
    ("23_amd_person_human", "24_amd_machine_greeting", "25_amd_silence_initialsilence"),
    # Preview mode, agent first, on the same set-up: [olive-preview]'s Dial() from the agent's
    # channel to olive-test.conf's 1xxx, 2xxx, 3xxx, 4xxx customers and a number with no extension;
    # an agent who never answers; an agent who hangs up while the customer rings.
    ("27_preview_agent_first_answered", "28_preview_agent_first_busy", "29_preview_agent_first_no_answer",
     "30_preview_agent_does_not_answer", "31_preview_agent_first_congestion", "32_preview_agent_first_no_such_number",
     "33_preview_agent_hangs_up_while_customer_rings"),
    # The connect limit after AMD kept with TIMEOUT(absolute) and a T extension (no agent; an
    # agent answering within it), then Queue()'s own 1-second limit in [olive-dialer], on the
    # same kind of Asterisk: the dialplan as it was then (recorded-34-36.toml).
    ("34_amd_connect_limit_no_agent", "35_amd_connect_limit_agent_answers_in_1s", "36_queue_timeout_1s"),
    # [olive-dialer] keeping the connect limit with TIMEOUT(absolute) and a T extension (no
    # agent; an agent answering within it; an agent still ringing at it), on the same kind of
    # Asterisk: the dialplan docs/asterisk ships. Each after `queue reset stats`, so each is
    # a run of its own: a call that starts on time keeps its whole-second fields (QUEUEWAIT,
    # HoldTime, the AstDB end) when the machine is loaded, and one run's late tail cannot
    # push the next call's start over a second.
    ("37_dialer_connect_limit_no_agent",),
    ("38_dialer_connect_limit_agent_answers_in_1s",),
    ("39_dialer_connect_limit_agent_still_ringing",),
)
# Recordings that are not one call's session, compared by their own tests: an Asterisk
# restart cannot be replayed on one running simulator.
SEPARATE = {
    "21_core_restart_now": "tests/sim/test_conformance_restart.py",
    "22_core_restart_with_a_call_up": "tests/sim/test_conformance_restart.py",
    # Not replayed: the simulator plays Asterisk as docs/asterisk-setup.md sets it up for the
    # tests, with transmit_silence = yes; this recording shows why that setting is asked for.
    "26_amd_without_transmit_silence": "not replayed (transmit_silence = no)",
}

# The simulated Asterisk each run is replayed on: its scenario and the dialplan files whose RAND()
# values are pinned. Runs not named here use the lab's (tests/fixtures/asterisk-22/conf).
_DOCS = Path(__file__).resolve().parents[2] / "docs" / "asterisk"
SCENARIOS: dict[int, tuple[str | Path, tuple[Path, ...]]] = {
    2: (Path(__file__).with_name("recorded-19-22.toml"),
        (ROOT / "conf" / "docs-19-22" / "extensions.conf", _DOCS / "olive-test.conf")),
    3: (Path(__file__).with_name("recorded-23-26.toml"),
        (ROOT / "conf" / "docs-23-26" / "extensions.conf", _DOCS / "olive-test.conf")),
    4: (Path(__file__).resolve().parents[1] / "e2e" / "e2e.toml", (_DOCS / "extensions.conf", _DOCS / "olive-test.conf")),
    5: (Path(__file__).with_name("recorded-34-36.toml"),
        (ROOT / "conf" / "docs-34-36" / "extensions.conf", _DOCS / "olive-test.conf")),
    **{run: (Path(__file__).resolve().parents[1] / "e2e" / "e2e.toml", (_DOCS / "extensions.conf", _DOCS / "olive-test.conf"))
       for run in (6, 7, 8)},
}
_LAB: tuple[str | Path, tuple[Path, ...]] = ("lab", (ROOT / "conf" / "extensions.conf",))

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


def rand_pins(t: Transcript, confs: tuple[Path, ...] = _LAB[1]) -> dict[str, list[int]]:
    """The values RAND() gave in the recording, per device, in order of the channels using it.

    A session logged in without the dialplan class (17) has no Newexten to read them
    from; there the customer's ring and talk times are read off its state changes, and
    agents, who did not end the call, get the longest talk time.
    """
    plan = parse_extensions("\n".join(c.read_text() for c in confs))
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
                device = device_of(name)
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
        pins[device_of(e.get("Channel") or "")].append(int(value))
    return dict(pins)


def device_of(channel: str) -> str:
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


async def _session(pbx: SimulatedPBX, clock: ManualClock, replay: Replay, lead: float) -> None:
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
    reader, writer = await pbx.connect_in_memory()
    chunks: list[bytes] = []
    seen: Counter[str] = Counter()
    seen_at: dict[str, float] = {}  # clock time each event kind was last read
    progress = asyncio.Event()
    codec = AMICodec(Role.CLIENT)

    async def read() -> None:
        while data := await reader.read(65536):
            chunks.append(data)
            codec.receive_data(data)
            while isinstance(m := codec.next_message(), (Banner, Event, Response, MalformedMessage)):
                if isinstance(m, Event):
                    seen[m.name] += 1
                    seen_at[m.name] = clock.now()
            progress.set()

    task = asyncio.create_task(read())
    for batch in _batches(sent):
        trigger = _trigger(t, batch[0])
        if trigger is None:
            await clock.sleep(replay.origin + batch[0].t - clock.now())
        else:
            kind, count, gap = trigger
            deadline = clock.now() + 60.0
            while seen[kind] < count and clock.now() < deadline:
                progress.clear()
                waits = {asyncio.ensure_future(progress.wait()), asyncio.ensure_future(clock.sleep(deadline - clock.now()))}
                _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for w in pending:
                    w.cancel()
            await clock.sleep(seen_at.get(kind, clock.now()) + gap - clock.now())
        writer.write(b"".join(e.wire() for e in batch).replace(b"Secret: <not recorded>", b"Secret: olive"))
        await writer.drain()
    await task
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
# Call events an action may be waiting for (queue member events answer actions or race).
_TRIGGERS = frozenset({
    "Newchannel", "Newstate", "DialState", "DialEnd", "LocalBridge", "QueueCallerJoin", "AgentCalled",
    "AgentRingNoAnswer", "AgentConnect", "QueueCallerAbandon", "QueueCallerLeave", "BridgeEnter", "BridgeLeave",
    "SoftHangupRequest", "HangupRequest", "Hangup", "Newexten", "BridgeCreate", "BridgeDestroy",
})


def _trigger(t: Transcript, action: Entry) -> tuple[str, int, float] | None:
    """The last call event recorded before ``action``: (kind, how many so far, seconds after it)."""
    index = t.entries.index(action)
    before = [e for e in t.entries[:index] if e.direction == "recv" and e.get("Event") in _TRIGGERS]
    if not before:
        return None
    last = before[-1]
    kind = last.get("Event") or ""
    return kind, sum(1 for e in before if e.get("Event") == kind), max(0.0, action.t - last.t)


async def _empty(pbx: SimulatedPBX, queues: list[str]) -> None:
    reader, writer = await pbx.connect_in_memory()
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
    """One throwaway session first, as the recorder's Asterisk had served sessions before."""
    reader, writer = await pbx.connect_in_memory()
    writer.write(b"Action: Login\r\nUsername: olive\r\nSecret: olive\r\nEvents: off\r\n\r\n"
                 b"Action: QueueStatus\r\n\r\nAction: Logoff\r\n\r\n")
    await writer.drain()
    while await reader.read(65536):
        pass
    writer.close()


async def replay_run(names: Iterable[str]) -> dict[str, Replay]:
    """Replay one run in virtual time (a ManualClock driven to each next sleeper, the PBX in memory):
    every duration exact, so the comparison's timing checks cannot flake on a loaded machine."""
    names = tuple(names)
    clock = ManualClock(start=load(names[0]).sent()[0].t + origin_of(load(names[0])) - 5.0)
    return await clock.run_until_complete(asyncio.ensure_future(_replay_run(names, clock)))


async def _replay_run(names: tuple[str, ...], clock: ManualClock) -> dict[str, Replay]:
    scenario, confs = SCENARIOS.get(RUNS.index(names), _LAB) if names in RUNS else _LAB
    replays = {n: Replay(n, load(n), origin_of(load(n))) for n in names}
    pbx = SimulatedPBX(scenario if isinstance(scenario, str) else load_scenario(scenario), clock=clock)
    for r in replays.values():
        for device, values in rand_pins(r.transcript, confs).items():
            pbx.core.rand_pins.setdefault(device, []).extend(values)
    await pbx.start_in_memory()
    try:
        await _warm_up(pbx)
        for r in replays.values():
            emptied = emptied_queues(r.transcript)
            if emptied:
                await clock.sleep(r.origin + r.transcript.sent()[0].t - 2.0 - clock.now())
                await _empty(pbx, emptied)
            await _session(pbx, clock, r, lead=0.05)
    finally:
        await pbx.stop()
    return replays


def replay_all() -> dict[str, Replay]:
    """Every run, one after the other, each on a simulator of its own."""
    return {k: v for run in RUNS for k, v in asyncio.run(replay_run(run)).items()}


__all__ = ["RUNS", "SEPARATE", "Message", "Replay", "device_of", "recorded_messages", "replay_all", "replay_run"]
