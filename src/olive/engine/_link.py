"""One Asterisk server: its AMI client, the pure trackers fed from it, and reconciliation.

Exactly one pump per server: the AMI client's event callback parses each
event and feeds the call and agent trackers synchronously (they are pure and
fast); their changes wait in a buffer that the engine tick persists. After
every (re)login the link re-reads QueueStatus and CoreShowChannels before it
lets the engine dial again, so calls in flight are neither lost nor counted
twice, and nothing is ever re-sent.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable

from olive import ami
from olive.calls import (
    AgentActivity,
    AgentChange,
    CallChange,
    CallState,
    CallTracker,
    MemberTracker,
)
from olive.clock import Clock
from olive.engine._health import RateLimitedLog
from olive.engine._stamps import scaled as scaled_event_clock

log = logging.getLogger("olive.engine")

ASTDB_FAMILY = "olive-outcome"  # where the shipped dialplan's hangup handler leaves each answered call's result
DEGRADED_AFTER_S = 5.0  # real seconds an action may wait for its response before the link is degraded


class LinkState(enum.Enum):
    DISCONNECTED = "disconnected"
    RECONCILING = "reconciling"  # logged in, re-reading state; no dialing yet
    READY = "ready"
    SHUTTING_DOWN = "shutting_down"  # Asterisk said it is going away; no dialing until it is back

    def __repr__(self) -> str:
        return f"<LinkState.{self.name}>"


# manager_dbdel()'s answer when the key does not exist (transcripts 19, 20).
NO_SUCH_KEY = "Database entry could not be deleted"
# manager.c's answer to every action once Asterisk has begun to shut down (transcript 22).
SHUTTING_DOWN = "Asterisk is shutting down"
# ast_softhangup_all()'s SoftHangupRequest Cause (AST_SOFTHANGUP_SHUTDOWN): the first sign of a
# shutdown, on every channel, before the calls end and about a second before Shutdown (transcript 22).
SOFTHANGUP_SHUTDOWN = "4"
IDLE = AgentActivity.IDLE
ANSWERED_RANK = CallState.ANSWERED.rank
SHUTDOWN_PROBE_S = 5.0  # still connected this long after: is Asterisk answering again (shutdown aborted)?


class PbxLink:
    def __init__(
        self,
        name: str,
        client: ami.AMIClient,
        clock: Clock,
        *,
        wrapup_s: float = 0.0,
        settle_s: float = 1.0,
    ) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.tracker = CallTracker(settle_s=settle_s)
        self.members = MemberTracker(wrapup_s=wrapup_s)
        self.state = LinkState.DISCONNECTED
        self.queues: set[str] = set()  # queues whose members olive manages here
        self.call_changes: list[CallChange] = []
        self.agent_changes: list[AgentChange] = []
        self.malformed_events = 0
        self.event_failures = 0  # events whose applying raised; contained to their call
        self.event_clock = scaled_event_clock(clock.scale)
        self._stamp_log = RateLimitedLog(log)
        self._failure_log = RateLimitedLog(log)
        self.asterisk_started: str | None = None  # CoreStatus start date and time, as last read
        self.asterisk_restarts = 0  # restarts seen since olive started
        self.connected_at: float | None = None
        # After each login: True once the queues hold every member olive wants there.
        self.membership_confirmed = False
        # Does the dialplan leave each answered call's result in AstDB? None: not known yet.
        self.astdb_results: bool | None = None
        self.on_ready: Callable[[PbxLink], Awaitable[None]] | None = None
        # Called when an event changed what a pacer reads (an agent's activity, a call's state):
        # the engine decides then instead of at its next period.
        self.on_change: Callable[[], None] | None = None
        self._probe_at: float | None = None  # while shutting down: when to ask whether it still is
        self.shutdown_seen: tuple[float, str] | None = None  # when olive last learned Asterisk was going, and how
        client.on_event(self._on_event)
        client.on_connect(self._reconcile)
        client.on_disconnect(self._on_disconnect)

    def __repr__(self) -> str:
        return f"<PbxLink {self.name} {self.state.value} calls={len(self.tracker)}>"

    @property
    def ready(self) -> bool:
        return self.state is LinkState.READY

    @property
    def health(self) -> str:
        """The link's state for /ready: ``degraded`` when connected but not answering
        (an action waited longer than ``DEGRADED_AFTER_S``, or timed out with no answer since)."""
        if self.state is not LinkState.DISCONNECTED and (
            self.client.unanswered_s() > DEGRADED_AFTER_S or not self.client.answering
        ):
            return "degraded"
        return self.state.value

    def _on_event(self, event: ami.Event) -> None:
        name = event.name
        if name == "Shutdown" or (name == "SoftHangupRequest" and event.get("Cause") == SOFTHANGUP_SHUTDOWN):
            self.asterisk_shutting_down(f"{name} event")
        try:
            typed = ami.parse_event(event)
        except Exception as exc:  # AMIProtocolError, or a field no parser foresaw
            self.malformed_events += 1
            log.warning("%s: skipped a malformed %s event: %s", self.name, event.name, exc)
            return
        if typed is None:
            return
        now = self.event_time(event)
        changed = False
        # One event that breaks a tracker costs that call its certainty, never the engine.
        try:
            calls = self.tracker.handle(typed, now)
            if calls:
                self.call_changes.extend(calls)
                changed = any(_decides(c) for c in calls)
        except Exception:
            self._event_failed(event)
        try:
            agents = self.members.handle(typed, now)
            if agents:
                self.agent_changes.extend(agents)
                changed = changed or any(a.status.activity is IDLE and a.previous is not IDLE for a in agents)
        except Exception:
            self._event_failed(event)
        if changed and self.on_change is not None:
            self.on_change()

    def _event_failed(self, event: ami.Event) -> None:
        self.event_failures += 1
        call_id = event.get("Linkedid") or event.get("Uniqueid") or event.get("ActionID")
        if call_id:
            self.tracker.lost_sight([call_id])  # ends as reconciled, not from a half-applied event
        self._failure_log.warning(
            "%s: applying a %s event (call %s) failed; contained, counted", self.name, event.name, call_id, exc_info=True
        )

    def event_time(self, event: ami.Event) -> float:
        """When the event happened, on olive's clock (see :class:`EventClock`).

        A stamp outside the sane window is replaced by the arrival time, with one
        log line a minute at most, and counted.
        """
        received = self.clock.now()
        at, refused = self.event_clock.time_of(event.get("Timestamp"), received)
        if refused:
            self._stamp_log.warning(
                "%s: ignored %s event Timestamp %r: not within %gs of olive's clock; using olive's clock",
                self.name,
                event.name,
                event.get("Timestamp"),
                self.event_clock.window_s,
            )
        return at

    @property
    def event_lag_s(self) -> float | None:
        """How much later than the quickest one the last time-stamped event arrived (metrics)."""
        return self.event_clock.lag_s

    def asterisk_shutting_down(self, sign: str) -> None:
        """Asterisk is going away (``core restart now``, ``core stop``): it refuses every action
        until it closes the connection, so olive places no call and sends no queue action until
        it has logged in again and rebuilt its picture (or Asterisk answers again)."""
        if self.state not in (LinkState.READY, LinkState.RECONCILING):
            return
        self.state = LinkState.SHUTTING_DOWN
        self.shutdown_seen = (self.clock.now(), sign)
        self._probe_at = self.clock.now() + SHUTDOWN_PROBE_S
        log.warning("%s: Asterisk is shutting down (%s): no dialing until it is back", self.name, sign)

    def shutdown_probe_due(self, now: float) -> bool:
        if self.state is not LinkState.SHUTTING_DOWN or self._probe_at is None or now < self._probe_at:
            return False
        self._probe_at = now + SHUTDOWN_PROBE_S
        return True

    async def probe_shutdown(self) -> None:
        """Still connected well after it said it was shutting down: a shutdown can be aborted
        (``core abort shutdown``); an action answered again means Asterisk stays."""
        try:
            response = await self.client.send_action(ami.action("Ping"), check=False)
        except ami.AMIError:
            return
        if response.ok and self.state is LinkState.SHUTTING_DOWN:
            log.warning("%s: Asterisk answers again: its shutdown was aborted; re-reading its state", self.name)
            await self._reconcile()

    def _on_disconnect(self, exc: BaseException | None) -> None:
        self.state = LinkState.DISCONNECTED
        active = [r.call_id for r in self.tracker.active()]
        self.tracker.lost_sight(active)
        if exc is None and not active:
            log.info("%s: AMI connection closed", self.name)
        else:
            log.warning("%s: AMI connection lost (%s); %d call(s) to reconcile", self.name, exc, len(active))

    async def _reconcile(self) -> None:
        self.state = LinkState.RECONCILING
        self.membership_confirmed = False
        self.connected_at = self.clock.now()
        try:
            restarted = await self._check_restart()
            for queue in sorted(self.queues):
                await self.refresh_queue(queue)
            _, items = await self.client.send_list_action(ami.action("CoreShowChannels"))
            channels = [t for t in (ami.parse_event(i) for i in items) if isinstance(t, ami.CoreShowChannel)]
            gone = "lost in an Asterisk restart" if restarted else "ended while AMI was disconnected"
            results = await self._read_results(channels)
            changes = self.tracker.reconcile(
                channels, self.clock.now(), gone=gone, results=results, answers_seen=self.astdb_results is True
            )
            # Their results are deleted from AstDB once their records are stored (the engine's
            # tick, as for a call seen to its end): deleted before, a crash would lose them.
            self.call_changes.extend(changes)
            if self.on_ready is not None:
                await self.on_ready(self)
        except ami.AMIError as exc:
            log.error("%s: reconciliation failed (%s); the link stays closed to dialing", self.name, exc)
            return
        if self.state is not LinkState.RECONCILING:  # Asterisk began shutting down meanwhile
            return
        self.state = LinkState.READY
        log.info("%s: reconciled (%d channel(s)); dialing allowed", self.name, len(channels))

    async def _check_restart(self) -> bool:
        """Did Asterisk restart since olive last saw it? CoreStatus says when it started.

        FullyBooted (with its Uptime) is not relied on: a login filtered to
        ``Events: call,agent`` never gets it (transcript 17). Whatever the
        answer, the picture is rebuilt from Asterisk; this only names the cause.
        """
        try:
            response = await self.client.send_action(ami.action("CoreStatus"))
        except ami.AMIActionError as exc:
            log.warning("%s: CoreStatus refused (%s); cannot tell whether Asterisk restarted", self.name, exc)
            return False
        started = f"{response.get('CoreStartupDate') or ''} {response.get('CoreStartupTime') or ''}".strip()
        previous, self.asterisk_started = self.asterisk_started, started or None
        if previous is None or not started or started == previous:
            return False
        self.asterisk_restarts += 1
        log.warning(
            "%s: Asterisk restarted (started %s, was %s): its channels and dynamic queue members are gone; "
            "rebuilding from what it has now", self.name, started, previous,
        )
        return True

    async def _read_results(self, channels: list[ami.CoreShowChannel]) -> dict[str, str]:
        """What the dialplan left in AstDB for the calls that ended while olive could not see."""
        alive = {c.ref.linkedid for c in channels}
        results: dict[str, str] = {}
        for record in self.tracker.active():
            if (record.linkedid or "") in alive:
                continue
            try:
                _, items = await self.client.send_list_action(ami.action("DBGet", Family=ASTDB_FAMILY, Key=record.call_id))
            except ami.AMIActionError:
                continue  # "Database entry not found": never answered, or no hangup handler in the dialplan
            for item in items:
                value = item.get("Val")
                if item.name == "DBGetResponse" and value is not None:
                    results[record.call_id] = value
        if results:
            self.astdb_results = True
            log.info("%s: %d call(s) that ended unseen have their result from AstDB", self.name, len(results))
        return results

    async def forget_result(self, call_id: str) -> None:
        """Delete an ended call's AstDB result. Whether one was there tells whether the
        dialplan records results (docs/asterisk/extensions.conf, [olive-outcome])."""
        try:
            response = await self.client.send_action(
                ami.action("DBDel", Family=ASTDB_FAMILY, Key=call_id), check=False
            )
        except ami.AMIError:
            return
        if response.ok:
            self.astdb_results = True
        elif response.message == SHUTTING_DOWN:
            self.asterisk_shutting_down(f"DBDel refused: {SHUTTING_DOWN}")
        elif response.message == NO_SUCH_KEY and self.astdb_results is None:
            # Only this answer says the key is not there: others ("Asterisk is shutting down",
            # refused while a restart hangs the calls up) say nothing about the dialplan.
            self.astdb_results = False
            log.warning(
                "%s: the dialplan leaves no call results in AstDB (no [olive-outcome] hangup handler): the outcome "
                "of a call that ends while olive is away cannot be known", self.name,
            )

    async def refresh_queue(self, queue: str) -> list[ami.QueueMemberState]:
        """Re-read one queue's members: Asterisk's list replaces what olive believed."""
        _, items = await self.client.send_list_action(ami.action("QueueStatus", Queue=queue))
        now = self.clock.now()
        members = [
            t for t in (ami.parse_event(i) for i in items)
            if isinstance(t, ami.QueueMemberState) and t.queue == queue
        ]
        for member in members:
            self.agent_changes.extend(self.members.handle(member, now))
        self.agent_changes.extend(self.members.snapshot(queue, (m.interface for m in members), now))
        return members

    async def check_calls(self, call_ids: list[str]) -> None:
        """Calls whose OriginateResponse is overdue: does Asterisk have their channels?

        A call with none is over (its Originate was lost, or its events were):
        it ends on what is known, with the reason. One that exists is followed
        on, and asked about again later if its answer still does not come.
        """
        try:
            _, items = await self.client.send_list_action(ami.action("CoreShowChannels"))
        except ami.AMIError as exc:
            log.warning("%s: could not ask about %d overdue call(s) (%s); asking again later", self.name, len(call_ids), exc)
            self.tracker.recheck(call_ids, self.clock.now())
            return
        channels = [t for t in (ami.parse_event(i) for i in items) if isinstance(t, ami.CoreShowChannel)]
        gone = "no OriginateResponse from Asterisk in time and no channel of the call exists"
        # Connected all along: an answer would have come as events.
        changes = self.tracker.reconcile(channels, self.clock.now(), gone=gone, only=call_ids, answers_seen=True)
        for change in changes:
            if change.ended:
                log.warning("%s: call %s ended: %s", self.name, change.record.call_id, gone)
        self.call_changes.extend(changes)

    def drain(self) -> tuple[list[CallChange], list[AgentChange]]:
        """Changes since the last drain, plus what the passing of time decided."""
        now = self.clock.now()
        self.call_changes.extend(self.tracker.tick(now))
        self.agent_changes.extend(self.members.tick(now))
        for change in self.call_changes:
            if change.record.agent_first:  # preview, agent first: no queue event moves the agent
                self.agent_changes.extend(self.members.agent_first(change.record, now))
            if change.ended:
                self.agent_changes.extend(self.members.call_ended(change.record.call_id, now))
        calls, agents = self.call_changes, self.agent_changes
        self.call_changes, self.agent_changes = [], []
        return calls, agents

    def requeue(self, calls: list[CallChange], agents: list[AgentChange]) -> None:
        """Put back changes that could not be stored, ahead of newer ones."""
        self.call_changes[:0] = calls
        self.agent_changes[:0] = agents


def _decides(change: CallChange) -> bool:
    """Does this call change move a pacer's input: answered (a dial resolved live) or ended (a line free)?"""
    state = change.record.state
    return state is CallState.ENDED or change.previous.rank < ANSWERED_RANK <= state.rank


__all__ = ["SHUTTING_DOWN", "LinkState", "PbxLink"]
