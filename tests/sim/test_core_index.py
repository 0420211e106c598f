"""The simulator's channel lookups (by name, uniqueid and device) agree with a walk over
every channel, whatever the order of channels created and hung up. They are indexes
because a walk per lookup starved the simulator at 2,000+ calls (benchmarks/engine_load.py
at 1,000 agents: Ping went unanswered and the engine dropped the link)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from olive.clock import ManualClock
from olive.sim._core import Core
from olive.sim._dial import parse_target, request
from olive.sim._dialplan import parse_extensions
from olive.sim._model import DOWN, RINGING, UP, Channel

DIALPLAN = parse_extensions("[customers]\nexten => 1001,1,Answer()\nexten => 1002,1,Answer()\n")
TARGETS = ["Local/1001@customers", "Local/1002@customers", "PJSIP/1001@trunk", "PJSIP/sipp"]


def walk_find(core: Core, name_or_uid: str) -> Channel | None:
    if name_or_uid in core.channels:
        return core.channels[name_or_uid]
    low = name_or_uid.lower()
    return next(
        (ch for ch in core.channels.values() if ch.name.lower() == low or ch.uniqueid == name_or_uid), None
    )


def walk_states(core: Core, device: str) -> list[int]:
    return [ch.state for ch in core.channels.values() if ch.name.startswith(device + "-")]


steps = st.lists(
    st.tuples(st.sampled_from(["dial", "dial-with-id", "hangup"]), st.integers(0, 3), st.integers(0, 50)),
    max_size=60,
)


@given(steps)
def test_lookups_agree_with_a_walk_over_every_channel(ops: list[tuple[str, int, int]]) -> None:
    core = Core(ManualClock(), DIALPLAN, seed=1)
    made: list[Channel] = []
    for op, target_no, pick in ops:
        if op == "hangup":
            if made:
                core.hangup(made[pick % len(made)], 16)
            continue
        target = parse_target(TARGETS[target_no])
        assert target is not None
        uid = f"olive-{pick}" if op == "dial-with-id" else None  # ChannelId: ids may repeat
        one = request(core, target, linkedid=None, uniqueid=uid)
        made.append(one)
        if one.partner is not None:
            made.append(one.partner)
        core.sched.advance()
    probes = {ch.name for ch in made} | {ch.name.upper() for ch in made} | {ch.uniqueid for ch in made}
    for probe in sorted(probes | {"nobody", "olive-999"}):
        assert core.find_channel(probe) is walk_find(core, probe)
    for text in TARGETS:
        target = parse_target(text)
        assert target is not None
        states = walk_states(core, target.device)
        if target.tech == "Local":
            assert core.local_state(target.device) == ("INUSE" if states else "NOT_INUSE")
        else:
            shown = core.endpoint_state(target.device)
            assert (shown == "NOT_INUSE") == (not states or all(s == DOWN for s in states))
            assert (shown == "RINGING") == (bool(states) and RINGING in states and UP not in states)
