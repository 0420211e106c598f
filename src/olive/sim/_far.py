"""The far end of a PJSIP call: a customer behind a trunk, or an agent's phone.

Asterisk only sees SIP: 180 Ringing, 200 OK, a final error (486 busy, 503
congestion, 404 no such number) or a BYE. What a person does is drawn from the
scenario as a :class:`Behaviour` (customers) or :class:`AgentBehaviour`.
Media statistics (RTCPSent, RTPAUDIOQOS) are synthetic: their values are not
meant to be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from olive.sim._model import Channel

if TYPE_CHECKING:
    from olive.sim._clockwork import Timer
    from olive.sim._core import Core
    from olive.sim._dial import Dial

__all__ = ["AgentBehaviour", "Behaviour", "FarEnd"]

# SIP status and Asterisk cause of each failure (ast_sip_hangup_sip2cause()).
FAILURES = {"busy": (486, 17), "congestion": (503, 34), "invalid": (404, 1), "rejected": (603, 21)}
_PROVISIONAL = 0.002  # 180 Ringing arrives a moment after the INVITE
_BEEP = 0.5  # an answering machine's beep after its greeting


@dataclass(frozen=True)
class Behaviour:
    """What one called customer does.

    ``outcome``: answer, busy, congestion, invalid, rejected or noanswer.
    ``delay``: seconds of ringing before answering (or before the failure).
    ``patience``: seconds the answered customer waits for an agent (None: no limit).
    ``talk``: seconds the customer talks with the agent (None: until the agent hangs up).
    ``max_call``: the customer hangs up this long after answering, whatever happens.
    ``greeting``: an answering machine (outcome ``machine``) plays its greeting this long
    after answering, then beeps and records.
    ``amd``: what app_amd would conclude on this call: (AMDSTATUS, AMDCAUSE, seconds of
    listening), drawn from the scenario's ``[amd]`` accuracy.
    ``key``: the key a person presses when Read() asks (None: none), ``key_delay`` seconds
    after Read() starts, drawn from the scenario's ``[ivr]`` shares.
    """

    outcome: str
    delay: float = 0.0
    patience: float | None = None
    talk: float | None = None
    max_call: float | None = None
    greeting: float | None = None
    amd: tuple[str, str, float] | None = None
    key: str | None = None
    key_delay: float = 0.0

    @property
    def machine(self) -> bool:
        return self.outcome == "machine"


@dataclass(frozen=True)
class AgentBehaviour:
    answers: bool = True
    delay: float = 1.0
    talk: float | None = None  # the agent ends the call after this long (None: the customer does)


class FarEnd:
    def __init__(self, core: Core, ch: Channel, behaviour: Behaviour | AgentBehaviour) -> None:
        self.core = core
        self.ch = ch
        self.behaviour = behaviour
        self._patience: Timer | None = None
        self._rtcp = 0
        ch.far = self

    def _later(self, delay: float, fn: object) -> None:
        assert callable(fn)
        self.ch.timers.append(self.core.sched.later(delay, fn))

    def start(self, dial: Dial) -> None:
        self.ch.on_hangup_request = dial.remote_hangup
        b = self.behaviour
        if isinstance(b, AgentBehaviour):
            self._later(_PROVISIONAL, dial.ringing)
            if b.answers:
                self._later(max(b.delay, _PROVISIONAL), dial.answered)
            return
        if b.outcome in FAILURES:
            sip, cause = FAILURES[b.outcome]
            self._later(b.delay, lambda: self.core.request_hangup(self.ch, cause, sip))
            return
        self._later(_PROVISIONAL, dial.ringing)
        if b.outcome in ("answer", "machine"):
            self._later(max(b.delay, _PROVISIONAL), dial.answered)

    # -- after the answer ---------------------------------------------------------
    def answered(self) -> None:
        self._later(5.0, self._rtcp_sent)
        b = self.behaviour
        if isinstance(b, Behaviour) and b.max_call is not None:
            self._later(b.max_call, self.hang_up)

    def joined_queue(self) -> None:
        b = self.behaviour
        if isinstance(b, Behaviour) and b.patience is not None:
            self._patience = self.core.sched.later(b.patience, self.hang_up)
            self.ch.timers.append(self._patience)

    def silent_from(self) -> float:
        """When the far end stops making sound: a machine after its greeting and beep."""
        b, ch = self.behaviour, self.ch
        answered = ch.answered_at if ch.answered_at is not None else self.core.now
        if isinstance(b, Behaviour) and b.greeting is not None:
            return answered + b.greeting + _BEEP
        return answered

    def connected(self) -> None:
        if self._patience is not None:
            self._patience.cancel()
        b = self.behaviour
        if b.talk is not None:
            self._later(b.talk, self.hang_up)

    def hang_up(self) -> None:
        """The person hangs up: a BYE (or CANCEL) reaches Asterisk."""
        self.core.request_hangup(self.ch, 16)

    def _rtcp_sent(self) -> None:
        if self.ch.dead:
            return
        self._rtcp += 1
        common = [("To", "127.0.0.1:6001"), ("From", "127.0.0.1:29201"), ("MES", "87.7"), ("SSRC", "0x6a3bc1a4")]
        if self._rtcp == 1:  # a sender report first, receiver reports after (nothing comes back)
            sent = int((self.core.now - (self.ch.answered_at or self.core.now)) * 50)
            extra = [("PT", "200(SR)"), ("ReportCount", "0"), ("SentNTP", f"{self.core.now:.6f}"),
                     ("SentRTP", str(sent * 160)), ("SentPackets", str(sent)), ("SentOctets", str(sent * 160))]
        else:
            extra = [("PT", "201(RR)"), ("ReportCount", "0")]
        self.core.channel_event("RTCPSent", self.ch, *common, *extra, category="reporting")
        self._later(5.0, self._rtcp_sent)

    def media_stats(self) -> None:
        """The RTP quality variables chan_pjsip sets as the call ends."""
        core, ch = self.core, self.ch
        if ch.answered_at is None:
            return
        packets = max(1, round((core.now - ch.answered_at) * 50))
        core.set_var(ch, "RTPAUDIOQOS", f"ssrc=0;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;txcount={packets};rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000")
        core.set_var(ch, "RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;")
        core.set_var(ch, "RTPAUDIOQOSLOSS", "minrxlost=000.000000;maxrxlost=000.000000;avgrxlost=000.000000;stdevrxlost=000.000000;mintxlost=000.000000;maxtxlost=000.000000;avgtxlost=000.000000;stdevtxlost=000.000000;")
        core.set_var(ch, "RTPAUDIOQOSRTT", "minrtt=000.000000;maxrtt=000.000000;avgrtt=000.000000;stdevrtt=000.000000;")
        core.set_var(ch, "RTPAUDIOQOSMES", "minrxmes=000.000000;maxrxmes=000.000000;avgrxmes=000.000000;stdevrxmes=000.000000;mintxmes=000.000000;maxtxmes=000.000000;avgtxmes=000.000000;stdevtxmes=000.000000;")
