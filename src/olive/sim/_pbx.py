"""The Python API: a simulated Asterisk 22 PBX speaking AMI over TCP, or in memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from olive.ami import Action, ByteReader, ByteWriter, Event, Response, memory_pipe
from olive.clock import Clock, ScaledClock
from olive.sim._apps import Runner
from olive.sim._core import Core
from olive.sim._model import Channel
from olive.sim._queue_app import QueueCall
from olive.sim._queues import Member, Queue, Queues
from olive.sim._scenario import Scenario, builtin_scenario, load_scenario
from olive.sim._server import AMISession
from olive.sim._world import World

__all__ = ["ActionRecord", "ChannelInfo", "MemberInfo", "SimulatedPBX"]

SHUTDOWN_S = 1.1  # core restart now: from hanging up every call to the Shutdown event (transcript 22)


@dataclass(frozen=True)
class ActionRecord:
    time: float  # the PBX clock's time when it arrived
    session: int
    action: Action


@dataclass
class _OddEvent:
    """A fault: the next ``remaining`` events named ``name`` are changed on their way out."""

    name: str
    remaining: int
    fields: dict[str, str | None]
    delay_s: float
    where: dict[str, str]  # only events whose headers begin so
    then: list[dict[str, str | None]]  # copies sent after it, each with these fields
    then_every_s: float

    def matches(self, event: Event) -> bool:
        return self.name == event.name.lower() and all((event.get(k) or "").startswith(v) for k, v in self.where.items())

    @staticmethod
    def edit(event: Event, fields: Mapping[str, str | None]) -> Event:
        headers = [(n, fields.get(n, v)) for n, v in event.headers]
        present = {n for n, _ in event.headers}
        headers += [(n, v) for n, v in fields.items() if n not in present]
        return Event(tuple((n, v) for n, v in headers if v is not None))


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    uniqueid: str
    linkedid: str
    state: str
    context: str
    exten: str
    application: str
    bridged_with: tuple[str, ...]


@dataclass(frozen=True)
class MemberInfo:
    queue: str
    interface: str
    name: str
    status: int
    paused: bool
    reason: str
    calls_taken: int
    in_call: bool
    penalty: int = 0


class SimulatedPBX:
    """A PBX that behaves, over AMI, like Asterisk 22 running the scenario's dialplan and queues.

    ``scenario``: a :class:`Scenario`, a path to a TOML file, or a built-in name
    (``"default"``, ``"lab"``). ``clock``: shared with the code under test; by
    default a :class:`ScaledClock` at the scenario's ``scale``. ``seed``
    overrides the scenario's. ``keep_actions``: how many received actions
    :attr:`actions` keeps (all by default).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "default",
        clock: Clock | None = None,
        username: str = "olive",
        secret: str = "olive",
        *,
        seed: int | None = None,
        keep_actions: int | None = None,
    ) -> None:
        if isinstance(scenario, Scenario):
            self.scenario = scenario
        elif isinstance(scenario, Path) or str(scenario).endswith(".toml"):
            self.scenario = load_scenario(scenario)
        else:
            self.scenario = builtin_scenario(str(scenario))
        self.clock: Clock = clock if clock is not None else ScaledClock(self.scenario.scale)
        self.username = username
        self.secret = secret
        self.seed = self.scenario.seed if seed is None else seed
        self.astdb: dict[str, str] = {}  # AstDB ("family/key" -> value): on disk, so it outlives a restart
        # Every action received, for tests; a long-running simulator keeps only the last
        # ``keep_actions`` (its listeners still see each one) so its memory stays flat.
        self.actions: deque[ActionRecord] = deque(maxlen=keep_actions)
        self.action_listeners: list[Callable[[ActionRecord], None]] = []  # each action as it arrives (olive sim's logs)
        self.restarts = 0
        # While a clean restart shuts down, manager.c refuses every action (transcript 22).
        self.shutting_down = False
        self.shutdown_began_at: float | None = None  # the last clean restart's ast_softhangup_all()
        self.shutdown_event_at: float | None = None  # ... and its Shutdown event
        # Faults a test asks for: the next actions of a name get no response (see swallow()),
        # the next events of a name go out changed or late (see odd_event()).
        self._swallow: dict[str, list[bool]] = {}
        self._odd: list[_OddEvent] = []
        self._boot()
        self._server: asyncio.base_events.Server | None = None
        self._host = "127.0.0.1"
        self._sessions: set[AMISession] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.port: int | None = None
        self._in_memory = False
        self._accepting = False  # in memory: connections are taken (not while down in a restart)

    def _boot(self) -> None:
        """Everything Asterisk keeps in memory, as it is when Asterisk has just started."""
        self.core = Core(self.clock, self.scenario.dialplan, self.seed + self.restarts)
        self.core.world = World(self.scenario, self.seed + self.restarts)
        self.core.vary_order = self.scenario.vary_order
        self.core.astdb = self.astdb
        self.core.tamper = self._tamper
        self.queues = Queues(self.core)
        self.core.pre_hangup_listeners.append(lambda ch: ch.far.media_stats() if ch.far is not None else None)
        for name, conf in self.scenario.queues.items():
            self.queues.queues[name] = Queue.from_config(name, conf)
        self.globals: dict[str, str] = dict(self.scenario.dialplan.globals)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._host = host
        self._server = await asyncio.start_server(self._accept, host, port)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        self._ticker = asyncio.create_task(self.core.sched.run(), name="olive-sim-scheduler")
        return self.port

    async def start_in_memory(self) -> None:
        """Serve AMI in memory instead of TCP: each :meth:`connect_in_memory` is one
        session (pass it as the client's ``connector``). With a ``ManualClock`` the
        whole PBX moves only when the test advances time."""
        self._in_memory = self._accepting = True
        self._ticker = asyncio.create_task(self.core.sched.run(), name="olive-sim-scheduler")

    async def connect_in_memory(self) -> tuple[ByteReader, ByteWriter]:
        """A new AMI session over a memory pipe: the client's end (an ``AMIClient`` connector)."""
        if not self._accepting:
            raise ConnectionRefusedError("the simulated Asterisk is not accepting AMI connections")
        client_end, (reader, writer) = memory_pipe()
        task = asyncio.create_task(self._accept(reader, writer), name="olive-sim-session")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return client_end

    async def stop(self) -> None:
        self._accepting = False
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None

    async def drop_connections(self) -> None:
        """Abruptly close every AMI session (calls go on, as in a network failure)."""
        for session in list(self._sessions):
            session.abort()
        await asyncio.sleep(0)

    async def restart(self, down_s: float = 0.0, *, clean: bool = True, shutdown_s: float = SHUTDOWN_S) -> None:
        """Asterisk restarts (``core restart now``, an upgrade, or with ``clean=False`` a crash).

        A clean restart first hangs up every call as the sessions watch (hangup
        handlers run, so AstDB keeps answered calls' results: transcript 22), then
        refuses every action for ``shutdown_s`` ("Asterisk is shutting down", 1.1 s
        in transcript 22), then sends every AMI session a Shutdown event (Shutdown:
        Cleanly, Restart: True) and closes it (21); a crash just
        drops the connections. Every AMI session drops; every channel is gone with no Hangup anyone
        could see; dynamic queue members (QueueAdd) and queue statistics are
        forgotten, as is all other in-memory state; the new process has a new
        start time (CoreStatus, FullyBooted Uptime). AstDB, kept on disk,
        survives. For ``down_s`` seconds (of the PBX's clock) AMI refuses
        connections, as while Asterisk boots.
        """
        assert self.port is not None or self._in_memory, "start() the PBX first"
        self._accepting = False
        if self._server is not None:
            self._server.close()
        if clean:
            # core restart now hangs up every channel first (ast_softhangup_all(): a
            # SoftHangupRequest with Cause 4, AST_SOFTHANGUP_SHUTDOWN, on each): sessions see
            # the calls end and hangup handlers run (transcript 22); manager.c refuses every
            # action from then on; Shutdown comes last.
            self.core.sched.advance()
            self.shutdown_began_at = self.core.now
            live = [ch for ch in self.core.channels.values() if not ch.dead]
            for ch in live:
                self.core.channel_event("SoftHangupRequest", ch, ("Cause", "4"))
            self.shutting_down = True
            for ch in live:
                self.core.hangup(ch, 16, soft=True)
            await asyncio.sleep(0.01)  # let what the hangups scheduled for now happen
            await self.clock.sleep(shutdown_s)
            self.core.sched.advance()
            self.shutdown_event_at = self.core.now
            self.core.emit("Shutdown", "system", [("Shutdown", "Cleanly"), ("Restart", "True")])
        for session in list(self._sessions):
            if clean:
                session.close()
            else:
                session.abort()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for ch in list(self.core.channels.values()):
            ch.dead = True
            ch.cancel_timers()
        if down_s > 0:
            await self.clock.sleep(down_s)
        self.restarts += 1
        self.shutting_down = False
        self._boot()
        self._ticker = asyncio.create_task(self.core.sched.run(), name="olive-sim-scheduler")
        if self._in_memory:
            self._accepting = True
        else:
            self._server = await asyncio.start_server(self._accept, self._host, self.port)

    def swallow(self, action: str, *, count: int = 1, acknowledge: bool = False) -> None:
        """The next ``count`` actions named ``action`` are lost inside Asterisk: no response
        and nothing done (a wedged manager thread). With ``acknowledge`` (Originate only)
        the action is answered "successfully queued" but its call never starts, so no
        OriginateResponse and no channel event ever follow."""
        self._swallow.setdefault(action.lower(), []).extend([acknowledge] * count)

    def swallowed(self, session: AMISession, action: Action) -> bool:
        """Called by the session for each action: True if this one is lost."""
        queue = self._swallow.get(action.name.strip().lower())
        if not queue:
            return False
        acknowledge = queue.pop(0)
        if acknowledge:
            headers = [("Response", "Success")]
            if action.action_id:
                headers.append(("ActionID", action.action_id))
            headers.append(("Message", "Originate successfully queued"))
            session.send(Response(tuple(headers)))
        return True

    def odd_event(
        self,
        name: str,
        *,
        count: int = 1,
        delay_s: float = 0.0,
        where: Mapping[str, str] | None = None,
        then: Sequence[Mapping[str, str | None]] = (),
        then_every_s: float = 0.5,
        **fields: str | None,
    ) -> None:
        """The next ``count`` events named ``name`` (whose headers begin as ``where`` says)
        go out odd, as a real Asterisk's sometimes do: with ``fields`` replacing (or added
        to) their headers, None removing one (a host clock gone wrong: ``Timestamp="1e12"``;
        a malformed field: ``ChannelState="Up"``), and/or ``delay_s`` later than they
        happened, after events that followed them (an answer from another thread, out of
        order); ``then``: followed, ``then_every_s`` apart, by copies with those fields
        changed (duplicate or contradictory answers). Everything else is untouched."""
        rule = _OddEvent(name.lower(), count, dict(fields), delay_s, dict(where or {}), [dict(t) for t in then], then_every_s)
        self._odd.append(rule)

    def send_event(self, name: str, category: str = "call", **fields: str) -> None:
        """An extra event, now, to every session: one olive does not model (a newer
        Asterisk's), or one about a channel that is not olive's (someone else's call)."""
        self.core.sched.run_now(lambda: self.core.emit(name, category, list(fields.items())))

    def _tamper(self, event: Event) -> list[tuple[Event, float]]:
        rule = next((r for r in self._odd if r.matches(event)), None)
        if rule is None:
            return [(event, 0.0)]
        rule.remaining -= 1
        if rule.remaining <= 0:
            self._odd.remove(rule)
        sent = rule.edit(event, rule.fields)
        copies = [(rule.edit(sent, t), rule.delay_s + (i + 1) * rule.then_every_s) for i, t in enumerate(rule.then)]
        return [(sent, rule.delay_s), *copies]

    async def __aenter__(self) -> SimulatedPBX:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _accept(self, reader: ByteReader, writer: ByteWriter) -> None:
        session = AMISession(self, reader, writer)
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)

    # -- wiring ----------------------------------------------------------------------------
    def install_queue(self, runner: Runner) -> None:
        runner.queue_app = lambda r, args, data: QueueCall(self.queues, r, args).start()
        runner.queue_member = self.queue_member

    def queue_member(self, args: list[str]) -> str:
        """QUEUE_MEMBER(queue,option) read as app_queue's queue_function_mem_read counts:
        logged (not unavailable or invalid), free (not in use, not paused), ready (free and
        not in wrap-up), count (all). Another option or no such queue: empty (and an error
        in Asterisk's log)."""
        q = self.queues.queues.get(args[0].strip() if args else "")
        option = args[1].strip().lower() if len(args) > 1 else ""
        if q is None:
            return ""
        members = list(q.members.values())
        now = int(self.core.now)
        if option == "count":
            return str(len(members))
        if option == "logged":
            return str(sum(1 for m in members if m.status not in (4, 5)))
        if option == "free":
            return str(sum(1 for m in members if m.status == 1 and not m.paused))
        if option == "ready":
            def wrapping(m: Member) -> bool:
                wrapup = q.wrapup(m)
                return bool(m.lastcall and wrapup and now - wrapup < m.lastcall)
            return str(sum(1 for m in members if m.status == 1 and not m.paused and not wrapping(m)))
        return ""

    def record(self, session: AMISession, action: Action) -> None:
        record = ActionRecord(self.core.now, session.id, action)
        self.actions.append(record)
        for listener in self.action_listeners:
            listener(record)

    def hangup_channel(self, ch: Channel, cause: int) -> None:
        """The Hangup action: the channel's owner ends it with ``cause``."""
        handler = ch.on_hangup_request
        if handler is not None:
            handler(cause or ch.hangupcause or 16)
        else:
            self.core.hangup(ch, cause or 16, force=bool(cause))

    # -- introspection ----------------------------------------------------------------------
    def actions_named(self, name: str) -> list[Action]:
        return [r.action for r in self.actions if r.action.name.lower() == name.lower()]

    def channels(self) -> list[ChannelInfo]:
        from olive.sim._model import STATE_DESC

        out = []
        for ch in self.core.channels.values():
            others = tuple(c.name for c in ch.bridge.channels if c is not ch) if ch.bridge else ()
            out.append(ChannelInfo(ch.name, ch.uniqueid, ch.linkedid, STATE_DESC.get(ch.state, "Unknown"),
                                   ch.context, ch.exten, ch.app, others))
        return out

    def queue_members(self, queue: str) -> list[MemberInfo]:
        q = self.queues.queues.get(queue)
        if q is None:
            return []
        return [
            MemberInfo(queue, m.interface, m.name, m.status, m.paused, m.reason, m.calls, bool(m.starttime), m.penalty)
            for m in q.members.values()
        ]

    def pin_random(self, channel: str, *values: int) -> None:
        """Make RAND() on ``channel`` return ``values`` in turn (tests pinning a transcript)."""
        self.core.rand_pins.setdefault(channel, []).extend(values)
