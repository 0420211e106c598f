"""No single event can stop the engine (issue 10, item 4).

Reported: one event stamped ``Timestamp: 1e12`` made every tick fail with
"year -29605 is out of range" and dialing stopped for good; a stamp 21 h
ahead gave negative ring times and ``talk_s`` of 77,235 s.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine.stored import placed_call
from olive import ami
from olive.ami import ServerConfig
from olive.compliance import AllowAll
from olive.engine import Engine, EngineState
from olive.engine._health import FAILING_AFTER
from olive.engine._link import PbxLink
from olive.engine._stamps import EventClock, scaled
from olive.store import (
    Call,
    to_epoch,
    transaction,
)

T0 = 1_790_000_000.0


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


class ManualClock:
    scale = 1.0

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


def _call(sessions: sessionmaker[Session], call_id: str = "call_1") -> None:
    placed_call(sessions, call_id, T0)


def _event(name: str, stamp: str | None, call_id: str = "call_1", **fields: str) -> ami.Event:
    headers = [("Event", name), ("Privilege", "call,all")]
    if stamp is not None:
        headers.append(("Timestamp", stamp))
    headers += [("Channel", "PJSIP/t-00000001"), ("Uniqueid", call_id), ("Linkedid", call_id)]
    headers += list(fields.items())
    return ami.Event(tuple(headers))


def _engine(sessions: sessionmaker[Session], clock: ManualClock) -> Engine:
    engine = Engine(sessions, {"default": ServerConfig(port=1)}, guard=AllowAll(), clock=clock)
    engine.links["default"].tracker.originate("call_1", action_id="call_1", dial_string="PJSIP/x@t", now=clock.t)
    return engine


def _play(engine: Engine, clock: ManualClock, bad: str) -> None:
    """A BUSY call: ringing (with a bad stamp), then the far end is busy 4 s later."""
    link = engine.links["default"]
    link._on_event(_event("Newchannel", bad, ChannelState="5", Context="x", Exten="s"))
    clock.t += 4.0
    link._on_event(_event("DialEnd", f"{clock.t:.6f}", DialStatus="BUSY", DestChannel="PJSIP/t-00000001", DestUniqueid="call_1", DestLinkedid="call_1"))
    link._on_event(_event("Hangup", f"{clock.t:.6f}", Cause="17", **{"Cause-txt": "User busy"}))
    originate = ami.Event((("Event", "OriginateResponse"), ("ActionID", "call_1"), ("Response", "Failure"),
                           ("Reason", "0"), ("Channel", "PJSIP/x@t"), ("Uniqueid", "call_1"), ("Timestamp", f"{clock.t:.6f}")))
    link._on_event(originate)
    clock.t += 2.0  # past the settle time


@pytest.mark.parametrize("bad", ["1e12", f"{T0 + 21 * 3600:.6f}", "nan", "inf", "yesterday"])
async def test_a_bad_timestamp_neither_wedges_nor_bends_the_record(
    session_factory: sessionmaker[Session], bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    _call(session_factory)
    clock = ManualClock(T0)
    engine = _engine(session_factory, clock)
    with caplog.at_level(logging.WARNING, "olive.engine"):
        _play(engine, clock, bad)
    await engine.tick()  # raised "year -29605 is out of range" before the fix
    with transaction(session_factory) as s:
        call = s.get(Call, "call_1")
        assert call is not None and call.outcome == "BUSY" and call.ended_at is not None
        ended = to_epoch(call.ended_at)
        assert T0 <= ended <= clock.t, "times stay on olive's clock"
    link = engine.links["default"]
    assert link.event_clock.ignored == 1
    assert sum("Timestamp" in r.getMessage() for r in caplog.records) == 1


def test_stamps_outside_the_window_are_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    class _Client:
        def on_event(self, h: object) -> None: ...
        def on_connect(self, h: object) -> None: ...
        def on_disconnect(self, h: object) -> None: ...

    clock = ManualClock(T0)
    link = PbxLink("default", _Client(), clock)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "olive.engine"):
        for _ in range(500):
            clock.t += 0.01
            assert link.event_time(_event("Newstate", "1e12")) == clock.t
    assert link.event_clock.ignored == 500
    assert len(caplog.records) == 1, "one line, not one per event"


class TestEventClock:
    def test_a_stamp_within_the_window_is_used(self) -> None:
        clock = EventClock()
        assert clock.time_of(f"{T0 - 0.05:.6f}", T0) == (T0, False)  # the first sets the offset
        at, refused = clock.time_of(f"{T0 + 1.0:.6f}", T0 + 1.2)
        assert not refused and at == pytest.approx(T0 + 1.05)

    def test_one_stamp_far_ahead_does_not_shift_later_ones(self) -> None:
        clock = EventClock()
        for i in range(10):
            clock.time_of(f"{T0 + i:.6f}", T0 + i + 0.01)
        at, refused = clock.time_of(f"{T0 + 10 + 21 * 3600:.6f}", T0 + 10.01)
        assert refused and at == T0 + 10.01
        at, _ = clock.time_of(f"{T0 + 11:.6f}", T0 + 11.01)
        assert at == pytest.approx(T0 + 11.01), "the bad stamp left no trace in the offset"

    def test_one_stamp_ahead_inside_the_window_is_an_outlier(self) -> None:
        clock = EventClock()
        for i in range(10):
            clock.time_of(f"{T0 + i:.6f}", T0 + i + 0.01)
        clock.time_of(f"{T0 + 10 + 200:.6f}", T0 + 10.01)  # 200 s ahead: inside the window
        at, _ = clock.time_of(f"{T0 + 11:.6f}", T0 + 11.01)
        assert at == pytest.approx(T0 + 11.01)

    def test_jitter_of_a_scaled_clock_is_not_an_outlier(self) -> None:
        """Under a simulator 40x faster than real time, 200 ms of real delay jitter is 8 s:
        durations must still be the stamps' (an e2e run saw a 7 s customer wait otherwise)."""
        rng = random.Random(7)
        clock = scaled(40.0)
        mapped = []
        for i in range(400):
            at = T0 + i * 0.5
            mapped.append(clock.time_of(f"{at:.6f}", at + 0.4 + rng.random() * 8.0)[0])
        steps = [b - a for a, b in itertools.pairwise(mapped[100:])]
        assert max(abs(step - 0.5) for step in steps) < 0.25

    def test_times_never_go_backwards(self) -> None:
        clock = EventClock()
        first, _ = clock.time_of(f"{T0:.6f}", T0)
        second, _ = clock.time_of(f"{T0 - 100:.6f}", T0 + 0.5)
        assert second >= first

    @pytest.mark.parametrize("stamp", ["1e12", "-1", "nan", "inf", "-inf", "x", f"{T0 + 301:.6f}", f"{T0 - 301:.6f}"])
    def test_refused(self, stamp: str) -> None:
        at, refused = EventClock().time_of(stamp, T0)
        assert refused and at == T0 and math.isfinite(at)

    def test_no_stamp_is_arrival_time_and_not_refused(self) -> None:
        assert EventClock().time_of(None, T0) == (T0, False)


async def test_an_event_that_breaks_the_tracker_is_contained_and_counted(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _call(session_factory)
    clock = ManualClock(T0)
    engine = _engine(session_factory, clock)
    link = engine.links["default"]
    real = link.tracker.handle

    def handle(event: ami.TypedEvent, now: float) -> list[object]:
        if isinstance(event, ami.Newchannel):
            raise KeyError("a bug")
        return real(event, now)  # type: ignore[return-value]

    monkeypatch.setattr(link.tracker, "handle", handle)
    _play(engine, clock, f"{T0:.6f}")
    assert link.event_failures == 1
    await engine.tick()
    with transaction(session_factory) as s:
        call = s.get(Call, "call_1")
        assert call is not None and call.ended_at is not None, "the call still ends; the others go on"


async def test_ticks_that_keep_failing_show_in_health_and_a_poison_change_is_set_aside(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _call(session_factory)
    clock = ManualClock(T0)
    engine = _engine(session_factory, clock)
    link = engine.links["default"]
    _play(engine, clock, f"{T0:.6f}")
    import olive.engine._engine as engine_module

    real = engine_module.apply_call_changes

    def refuse_call_1(session: Session, changes: list[object], agent_ids: object) -> object:
        if any(c.record.call_id == "call_1" for c in changes):  # type: ignore[attr-defined]
            raise ValueError("value too long for type character varying(80)")
        return real(session, changes, agent_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "apply_call_changes", refuse_call_1)
    engine.state = EngineState.RUNNING
    loop = asyncio.create_task(engine._loop())
    # The engine's database work runs in its own thread: wait in real time, bounded
    # generously (a loaded CI machine); each wait ends as soon as its condition holds.
    for _ in range(6000):
        await asyncio.sleep(0.01)
        # The set-aside is counted in the database thread, the failed tick on the loop after it.
        if engine.health.changes_set_aside and engine.health.tick_failures >= FAILING_AFTER:
            break
    assert engine.health.tick_failures == FAILING_AFTER
    assert engine.health.changes_set_aside >= 1
    assert "character varying" in (engine.health.last_tick_error or "")
    for _ in range(6000):
        await asyncio.sleep(0.01)
        if engine.health.tick_failures_in_a_row == 0:
            break
    assert engine.health.tick_failures_in_a_row == 0, "ticks run again"
    assert not engine.health.failing
    assert link.call_changes == []
    engine.state = EngineState.STOPPING
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop


async def test_a_locked_database_sets_nothing_aside(session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's 'database is locked' (another writer past the busy timeout) is the database
    being busy, not refusing a record: the changes wait; none is set aside (lost)."""
    from sqlalchemy.exc import OperationalError

    _call(session_factory)
    clock = ManualClock(T0)
    engine = _engine(session_factory, clock)
    link = engine.links["default"]
    _play(engine, clock, f"{T0:.6f}")
    import olive.engine._engine as engine_module

    def locked(session: Session, changes: list[object], agent_ids: object) -> object:
        raise OperationalError("UPDATE calls", {}, Exception("database is locked"))

    monkeypatch.setattr(engine_module, "apply_call_changes", locked)
    waiting = len(link.call_changes)
    assert waiting
    for _ in range(FAILING_AFTER + 2):
        with pytest.raises(OperationalError):
            await engine.tick()
        engine.health.tick_failed(RuntimeError("locked"))
    assert engine.health.changes_set_aside == 0
    assert len(link.call_changes) >= waiting, "every change still waits for the database"
