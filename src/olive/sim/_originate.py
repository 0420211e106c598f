"""The Originate action, as manager.c's action_originate and pbx_outgoing run it.

Async: the response comes at once, the call is placed, and OriginateResponse
tells the outcome with Asterisk's Reason codes (4 answered, 5 busy, 8
congestion, 3 no answer or Timeout, 0 anything else: a Local extension that
does not exist, or a SIP final response, which dial.c reports as a hangup).
``Timeout`` is in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from olive.ami import Action, Response
from olive.sim._appargs import split_variables
from olive.sim._apps import Runner
from olive.sim._dial import Dial, call_local, parse_target, request
from olive.sim._far import AgentBehaviour, Behaviour, FarEnd
from olive.sim._model import Channel, parse_callerid

if TYPE_CHECKING:
    from olive.sim._clockwork import Timer
    from olive.sim._core import Core

__all__ = ["Originate"]

Reply = Callable[[Response], None]


def _response(action: Action, status: str, message: str) -> Response:
    headers = [("Response", status)]
    if action.action_id:
        headers.append(("ActionID", action.action_id))
    headers.append(("Message", message))
    return Response(tuple(headers))


class Originate:
    def __init__(self, core: Core, action: Action, reply: Reply, install_queue: Callable[[Runner], None]) -> None:
        self.core = core
        self.action = action
        self.reply = reply
        self.install_queue = install_queue
        self.requested = action.get("Channel") or ""
        self.context = action.get("Context") or ""
        self.exten = action.get("Exten") or ""
        self.channel_id = action.get("ChannelId") or None
        self.other_id = action.get("OtherChannelId") or None
        self.async_ = (action.get("Async") or "").lower() in ("1", "true", "yes", "on", "y", "t")
        self.cid_num, self.cid_name = parse_callerid(action.get("CallerID") or "")
        self.variables: list[tuple[str, str]] = []
        for assignment in action.get_all("Variable"):
            self.variables.extend(split_variables(assignment))
        self.priority = 1
        self.timeout_ms = 30000
        self.channel: Channel | None = None
        self._timer: Timer | None = None
        self.finished = False

    def start(self) -> None:
        """Validate like action_originate, answer, then place the call."""
        a = self.action
        if not self.requested:
            return self.reply(_response(a, "Error", "Channel not specified"))
        prio = a.get("Priority") or ""
        if prio:
            if prio.strip().lstrip("-").isdigit():
                self.priority = int(prio)
            else:
                found = self.core.dialplan.label(self.context, self.exten, prio)
                if found is None:
                    return self.reply(_response(a, "Error", "Invalid priority"))
                self.priority = found
        timeout = a.get("Timeout") or ""
        if timeout:
            try:
                self.timeout_ms = int(timeout.strip().split()[0])
            except (ValueError, IndexError):
                return self.reply(_response(a, "Error", "Invalid timeout"))
        if "/" not in self.requested:
            return self.reply(_response(a, "Error", "Invalid channel"))
        if a.get("Application"):
            return self.reply(_response(a, "Error", "Originate failed"))
        if not (self.exten and self.context and self.priority):
            return self.reply(_response(a, "Error", "Originate with 'Exten' requires 'Context' and 'Priority'"))
        if not self.core.dialplan.exists(self.context, self.exten, self.priority):
            return self.reply(_response(a, "Error", "Extension does not exist."))
        if self.async_:
            self.reply(_response(a, "Success", "Originate successfully queued"))
        self.core.sched.defer(self._place)

    # -- dialing --------------------------------------------------------------------
    def _place(self) -> None:
        core = self.core
        target = parse_target(self.requested)
        behaviour: Behaviour | AgentBehaviour | None = None
        rng = core.dial_rng(target) if target is not None else None
        if target is not None and rng is not None and target.tech == "PJSIP":
            # a trunk's number, or else an agent's phone (PJSIP/101). PJSIP/NUMBER@X with
            # no endpoint X cannot be created: Asterisk's request fails, no channel appears.
            behaviour = core.far_behaviour(target, rng)
            if behaviour is None and not target.exten:
                behaviour = core.agent_behaviour(target, None)
        if target is None or (target.tech == "PJSIP" and behaviour is None):
            return self._fail(0)
        one = request(
            core, target, linkedid=None, uniqueid=self.channel_id, otherid=self.other_id,
            endpoint_context=core.endpoint_context(target.where) if target.tech == "PJSIP" else "default",
        )
        one.originated = True
        one.rng = rng
        self.channel = one
        core.set_app(one, "AppDial2", "(Outgoing Line)")
        for name, value in reversed(self.variables):
            core.set_var(one, name, value)
        if self.cid_num or self.cid_name:
            core.set_callerid(one, self.cid_num, self.cid_name)
            core.set_connected(one, self.cid_num, self.cid_name)
        dial = Dial(core, None, one, target.resource, self, "originate")
        if self.timeout_ms > 0:  # ast_dial: a timeout of 0 or less means none
            self._timer = core.sched.later(self.timeout_ms / 1000.0, self._timed_out)
        if target.tech == "Local":
            two = call_local(core, one, dial, fail_early=self._fail_now_if_early)
            if two is None:
                self._fail(0)
                core.hangup(one, 0)
                return
            runner = Runner(core, two, target.where, target.exten, 1)
            self.install_queue(runner)
            one.on_hangup_request = lambda cause: dial.remote_hangup(cause)
            core.sched.defer(runner.start)
        else:
            assert behaviour is not None
            dial.begin()
            FarEnd(core, one, behaviour).start(dial)

    def _timed_out(self) -> None:
        one = self.channel
        if one is None or self.finished or one.dead:
            return
        if one.dial is not None:
            one.dial.done = True
            one.dial = None
        self._fail_now_if_early(3)
        self.core.hangup(one, 19, force=True)
        self._fail(3)

    def early_failure(self) -> bool:
        """Asterisk sends OriginateResponse from its own thread: on failure it may come
        before or after the channel's hangup events (transcripts 02, 04, 09, 15). With the
        scenario's ``vary_order`` the call's random source picks one; else it comes after."""
        rng = self.channel.rng if self.channel is not None else None
        return bool(self.core.vary_order and rng is not None and rng.random() < 0.5)

    def _fail_now_if_early(self, reason: int) -> None:
        if self.early_failure():
            self._fail(reason)

    # -- DialOwner ----------------------------------------------------------------------
    def dial_ringing(self, dial: Dial) -> None:
        return None

    def dial_answered(self, dial: Dial) -> None:
        if self._timer is not None:
            self._timer.cancel()
        one = dial.dest
        self.finished = True
        if one.far is not None:
            one.far.answered()
        runner = Runner(self.core, one, self.context, self.exten, self.priority)
        self.install_queue(runner)
        runner.start()
        self.core.sched.defer(lambda: self._respond(True, 4, one))

    def dial_failed(self, dial: Dial, reason: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._fail(reason)

    def _fail(self, reason: int) -> None:
        if self.finished:
            return
        self.finished = True
        self._respond(False, reason, None)

    def _respond(self, ok: bool, reason: int, ch: Channel | None) -> None:
        a = self.action
        if not self.async_:
            message = "Originate successfully queued" if ok else "Originate failed"
            return self.reply(_response(a, "Success" if ok else "Error", message))
        headers: list[tuple[str, str]] = []
        if a.action_id:
            headers.append(("ActionID", a.action_id))
        headers += [
            ("Response", "Success" if ok else "Failure"),
            ("Channel", ch.name if ch else self.requested),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Reason", str(reason)),
            ("Uniqueid", ch.uniqueid if ch else (self.channel_id or "<unknown>")),
            ("CallerIDNum", self.cid_num or "<unknown>"),
            ("CallerIDName", self.cid_name or "<unknown>"),
        ]
        self.core.emit("OriginateResponse", "call", headers)
