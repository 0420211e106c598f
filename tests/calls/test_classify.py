from __future__ import annotations

from dataclasses import replace

import pytest

from olive.calls import AbandonReason, Facts, Outcome, classify

BASE = Facts(
    answered=False, connected=False, cancelled_by_olive=False, channels_seen=True, dial_began=True,
    dial_status=None, far_cause=None, originate_reason=None, queued=False, queue_abandoned=False,
    queue_status=None, hangup_before_abandon=False,
)


class TestClassify:
    @pytest.mark.parametrize(
        ("facts", "outcome"),
        [
            (dict(dial_status="BUSY", originate_reason=0, far_cause=17), Outcome.BUSY),  # PJSIP busy (09)
            (dict(originate_reason=5, far_cause=17), Outcome.BUSY),  # Local busy (02)
            (dict(originate_reason=8, far_cause=34), Outcome.CONGESTION),
            (dict(originate_reason=3, far_cause=19), Outcome.NO_ANSWER),
            (dict(dial_status="NOANSWER"), Outcome.NO_ANSWER),
            (dict(dial_status="CHANUNAVAIL"), Outcome.FAILED),
            (dict(far_cause=1, originate_reason=0), Outcome.INVALID_NUMBER),  # carrier 404
            (dict(far_cause=28), Outcome.INVALID_NUMBER),
            (dict(far_cause=21), Outcome.BUSY),
            (dict(far_cause=42), Outcome.CONGESTION),
            (dict(originate_reason=0, far_cause=0, dial_began=False), Outcome.INVALID_NUMBER),  # 07
            (dict(originate_reason=0, channels_seen=False, dial_began=False), Outcome.FAILED),
            (dict(originate_reason=0, far_cause=16), Outcome.FAILED),
            (dict(originate_reason=1), Outcome.NO_ANSWER),
            (dict(dial_status="CANCEL"), Outcome.NO_ANSWER),
        ],
    )
    def test_unanswered(self, facts: dict[str, object], outcome: Outcome) -> None:
        assert classify(replace(BASE, **facts))[0] is outcome  # type: ignore[arg-type]

    def test_dial_status_beats_reason(self) -> None:
        assert classify(replace(BASE, dial_status="BUSY", originate_reason=8))[0] is Outcome.BUSY

    def test_olive_cancel_before_answer(self) -> None:
        facts = replace(BASE, cancelled_by_olive=True, dial_status="CANCEL", originate_reason=1)
        assert classify(facts)[0] is Outcome.CANCELLED

    def test_olive_cancel_after_answer_is_still_an_abandon(self) -> None:
        facts = replace(BASE, cancelled_by_olive=True, answered=True, queued=True)
        assert classify(facts)[0] is Outcome.ABANDONED

    def test_connected_wins(self) -> None:
        assert classify(replace(BASE, answered=True, connected=True, far_cause=17))[0] is Outcome.CONNECTED

    @pytest.mark.parametrize(
        ("facts", "reason"),
        [
            (dict(queued=True, queue_abandoned=True, queue_status="TIMEOUT"), AbandonReason.TIMEOUT),
            (dict(queued=True, queue_abandoned=True), AbandonReason.TIMEOUT),
            (dict(queued=True, queue_abandoned=True, hangup_before_abandon=True), AbandonReason.CALLER_HANGUP),
            (dict(queued=False), AbandonReason.NOT_QUEUED),
            (dict(queued=True, untracked=True), AbandonReason.UNKNOWN),
        ],
    )
    def test_abandon_reasons(self, facts: dict[str, object], reason: AbandonReason) -> None:
        outcome, why, _ = classify(replace(BASE, answered=True, **facts))  # type: ignore[arg-type]
        assert (outcome, why) == (Outcome.ABANDONED, reason)

    def test_untracked_unanswered_is_failed_with_a_reason(self) -> None:
        outcome, _, detail = classify(replace(BASE, untracked=True, channels_seen=False))
        assert outcome is Outcome.FAILED
        assert "unknown" in detail

    def test_every_outcome_is_explained(self) -> None:
        assert classify(BASE)[2]
