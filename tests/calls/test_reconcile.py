"""After a reconnect the tracker re-reads CoreShowChannels (transcript 16) and settles each call."""

from __future__ import annotations

from replay import replay

from olive import ami
from olive.calls import CallState, Outcome
from support.transcripts import load


def channels_of_16() -> list[ami.CoreShowChannel]:
    t = load("16_queue_status_snapshot")
    codec = ami.AMICodec()
    out: list[ami.CoreShowChannel] = []
    for entry in t.received():
        codec.receive_data(entry.wire())
        while (msg := codec.next_message()) is not ami.NEED_DATA:
            if isinstance(msg, ami.Event) and msg.name == "CoreShowChannel":
                typed = ami.parse_event(msg)
                assert isinstance(typed, ami.CoreShowChannel)
                out.append(typed)
    return out


class TestReconcile:
    def test_a_call_connected_during_the_gap_is_connected(self) -> None:
        # olive lost AMI at 8.5 s, while the customer waited in the queue; the
        # agent answered at 9.0 s, unseen. At 10.1 s CoreShowChannels shows the bridge.
        r = replay("16_queue_status_snapshot", until=8.5)
        call_id = r.call_ids[0]
        r.tracker.lost_sight([call_id])
        (change,) = r.tracker.reconcile(channels_of_16(), 10.109)
        assert change.record.state is CallState.CONNECTED
        assert change.record.agent_connected_at == 10.109
        assert "while AMI was disconnected" in (change.record.detail or "")

    def test_a_call_answered_unseen_still_ends(self) -> None:
        # Lost before the answer (and its OriginateResponse): the snapshot shows it up,
        # so the call can end when its channels hang up.
        r = replay("16_queue_status_snapshot", until=1.0)
        call_id = r.call_ids[0]
        r.tracker.lost_sight([call_id])
        (change,) = r.tracker.reconcile(channels_of_16(), 10.109)
        assert change.record.answered_at == 10.109
        changes = []
        for leg in ("1795713233.50", "1795713233.51", "1795713241.52", "1795713241.53"):
            ref = ami.ChannelRef("x", leg, "1795713233.50")
            changes += r.tracker.handle(ami.Hangup(ref, 16, "Normal Clearing"), 48.6)
        changes += r.tracker.tick(60.0)
        (record,) = [c.record for c in changes if c.ended]
        assert record.state is CallState.ENDED
        assert record.outcome is Outcome.CONNECTED
        assert "approximate" in (record.detail or "")

    def test_gone_while_disconnected_ends_on_what_was_known(self) -> None:
        r = replay("16_queue_status_snapshot", until=8.5)  # queued, not yet connected
        r.tracker.lost_sight(r.call_ids)
        (change,) = r.tracker.reconcile([], 30.0)
        rec = change.record
        assert rec.state is CallState.ENDED
        # A live answer with no known agent: counted as abandoned, the safe side of the 3% rule.
        assert rec.outcome is Outcome.ABANDONED
        assert rec.abandon_reason is not None and rec.abandon_reason.value == "unknown"

    def test_nothing_known_is_failed_with_the_reason(self) -> None:
        r = replay("16_queue_status_snapshot", until=0.0005)  # Originate sent, nothing back
        r.tracker.lost_sight(r.call_ids)
        (change,) = r.tracker.reconcile([], 5.0)
        assert change.record.outcome is Outcome.FAILED
        assert "disconnected" in (change.record.detail or "")
