"""Running dialplan on a channel: one :class:`Runner` per channel in the PBX.

Supported applications: AMD, Answer, Busy, Congestion, Echo, Goto, GotoIf, Hangup,
NoOp, Playback, Queue, Read, Ringing, SendDTMF, Set, UserEvent, Wait, WaitForSilence. Each runs as Asterisk's does as far
as AMI can see: a Newexten when it starts, VarSet for Set, state changes and
indications that reach the dialing side of a Local channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from olive.sim._amd import AMD_SETTINGS, Detection, SilenceWait, user_event_headers
from olive.sim._dialplan import split_args, substitute
from olive.sim._ivr import KeyRead, send_dtmf
from olive.sim._model import BUSY, UP, Channel

if TYPE_CHECKING:
    from olive.sim._clockwork import Timer
    from olive.sim._core import Core

__all__ = ["APPLICATIONS", "Runner", "run_hangup_handlers"]

APPLICATIONS = frozenset(
    {"amd", "answer", "busy", "congestion", "echo", "goto", "gotoif", "hangup", "noop", "playback", "queue",
     "read", "ringing", "senddtmf", "set", "userevent", "wait", "waitforsilence"}
)

# Answer() on a ringing channel waits for the first media frame, up to 500 ms
# (main/channel.c __ast_answer). On a Local ;2 leg a frame comes only when the
# ;1 side makes sound: Queue(...,r) plays a ringing tone whose first frame
# arrives ~20 ms later (transcripts 01, 05); Queue() with music on hold and no
# music, or a silent agent leg, sends none, so the dialplan goes on after the
# full 500 ms (INDEX.md: Answer(); Wait(0.2); Hangup() hangs up ~0.7 s after answer).
_FIRST_FRAME = 0.02
_MEDIA_WAIT = 0.5


class Runner:
    """Executes priorities from (context, exten, priority) until the channel leaves the PBX."""

    def __init__(self, core: Core, ch: Channel, context: str, exten: str, priority: int = 1) -> None:
        self.core = core
        self.ch = ch
        self.stopped = False
        ch.context, ch.exten, ch.priority = context, exten, priority
        ch.runner = self
        ch.on_hangup_request = self.hangup_requested
        self.queue_app: Callable[[Runner, list[str], str], None] | None = None
        self.queue_member: Callable[[list[str]], str] | None = None  # QUEUE_MEMBER(), read
        self._media_wait: Timer | None = None  # Answer() waiting for the first frame
        self._media_since: float | None = None  # when the far half started sending frames
        self.voice_from = 0.0  # Playback() on this channel makes sound from then...
        self.voice_until: float | None = None  # ...until then
        self.playing = False  # in Playback() right now
        self.listener: Detection | SilenceWait | KeyRead | None = None  # AMD()/WaitForSilence()/Read() listening

    # -- control ---------------------------------------------------------------------
    def start(self) -> None:
        self.core.processed_calls += 1  # pbx.c increase_call_count(): each channel's PBX run
        self.step()

    def stop(self) -> None:
        self.stopped = True

    def hangup_requested(self, cause: int) -> None:
        """The far side hung up while an application was running: the PBX ends."""
        if self.listener is not None:
            self.listener.hangup()  # AMD()/WaitForSilence() set their status first
        if self.playing:
            # app_playback sets PLAYBACKSTATUS=SUCCESS when the far side hangs up mid-file too
            # (only a missing file is FAILED): transcript 24.
            self.playing = False
            self.core.set_var(self.ch, "PLAYBACKSTATUS", "SUCCESS")
        self.finish_hangup()

    def finish_hangup(self) -> None:
        self.stopped = True
        self.core.hangup(self.ch, 16, soft=True)

    def resume(self) -> None:
        """The running application returned 0: go on with the next priority."""
        if self.stopped or self.ch.dead:
            return
        self.ch.on_hangup_request = self.hangup_requested
        self.ch.priority += 1
        self.step()

    def wait(self, seconds: float) -> None:
        self.ch.timers.append(self.core.sched.later(seconds, self.resume))

    # -- lookups ---------------------------------------------------------------------
    def lookup(self, name: str) -> str:
        ch = self.ch
        fixed = {
            "CHANNEL": ch.name, "EXTEN": ch.exten, "CONTEXT": ch.context, "PRIORITY": str(ch.priority),
            "UNIQUEID": ch.uniqueid, "HANGUPCAUSE": str(ch.hangupcause),
            "EPOCH": str(int(self.core.now)),  # pbx_variables.c: time(NULL), whole seconds
            "CALLERID(num)": ch.cid_num or "", "CALLERID(name)": ch.cid_name or "",
        }
        if name in fixed:
            return fixed[name]
        if name in ch.variables:
            return ch.variables[name]
        return self.core.dialplan.globals.get(name, "")

    def function(self, name: str, args: list[str]) -> str:
        if name == "RAND":
            low = int(args[0]) if args and args[0].strip() else 0
            high = int(args[1]) if len(args) > 1 and args[1].strip() else 2147483647
            return str(self.core.rand(self.ch, low, high))
        if name == "LEN":
            return str(len(args[0])) if args else "0"
        if name == "IF":
            cond, _, choices = ",".join(args).partition("?")
            yes, _, no = choices.partition(":")
            return yes if cond.strip() not in ("", "0") else no
        if name == "QUEUE_MEMBER":
            return self.queue_member(args) if self.queue_member is not None else ""
        if name == "CALLERID":
            return self.ch.cid_num or "" if (args and args[0] == "num") else self.ch.cid_name or ""
        return ""

    def expand(self, text: str) -> str:
        return substitute(text, self.lookup, self.function)

    # -- the loop --------------------------------------------------------------------
    def step(self) -> None:
        while not self.stopped and not self.ch.dead:
            ch = self.ch
            prio = self.core.dialplan.priority(ch.context, ch.exten, ch.priority)
            if prio is None:
                # Nothing more to run: the PBX ends and hangs the channel up.
                self.stopped = True
                self.core.hangup(ch, 16)
                return
            data = self.expand(prio.data)
            self.core.set_app(ch, prio.app, data)
            if not self.execute(prio.app.lower(), data):
                return
            ch.priority += 1

    def execute(self, app: str, data: str) -> bool:
        """Run one application. True: go straight on; False: it continues later."""
        ch, core = self.ch, self.core
        args = split_args(data)
        if app == "noop":
            return True
        if app == "set":
            name, _, value = data.partition("=")
            if not core.write_function(ch, name.strip(), value):
                core.set_var(ch, name.strip(), value)
            return True
        if app == "ringing":
            self._ringing()
            return True
        if app == "wait":
            self.wait(_number(args[0], 0.0))
            return False
        if app == "answer":
            if ch.state == UP:
                return True
            if self._media_since is not None:
                self._answer()
                self.wait(_FIRST_FRAME)
            else:
                # Waiting before the far half learns of the answer, so that what it starts
                # then (AMD() listening, a tone that ends the wait) sees the wait.
                self._media_wait = self.core.sched.later(_MEDIA_WAIT, self._media_waited)
                ch.timers.append(self._media_wait)
                self._answer()
            return False
        if app in ("busy", "congestion"):
            ch.set_cause(17 if app == "busy" else 34, force=True)
            core.newstate(ch, BUSY)
            one = ch.local_peer
            if one is not None and one.dial is not None:
                status, reason = ("BUSY", 5) if app == "busy" else ("CONGESTION", 8)
                one.dial.control_failure(status, reason)
            timeout = _number(args[0], 0.0)
            if timeout > 0:
                ch.timers.append(core.sched.later(timeout, self.finish_hangup))
            return False
        if app == "hangup":
            cause = int(_number(args[0], 16)) if args[0].strip() else 16
            self.stopped = True
            ch.set_cause(cause or 16, force=True)
            core.hangup(ch, soft=True)
            return False
        if app == "goto":
            return self._goto(args)
        if app == "gotoif":
            cond, _, branches = data.partition("?")
            yes, _, no = branches.partition(":")
            target = yes if cond.strip() not in ("", "0") else no
            if not target.strip():
                return True
            return self._goto(split_args(target))
        if app == "playback":
            if ch.state != UP:
                self._answer()
            self.sounds_to_peer()
            seconds = core.sound_seconds(args[0])
            voice_from, voice_to = core.sound_voice(args[0])
            self.voice_from, self.voice_until = core.now + voice_from, core.now + voice_to
            self.voice_to_peer(self.voice_from, self.voice_until)

            def done() -> None:
                self.playing = False
                core.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")
                self.resume()
            self.playing = True
            ch.timers.append(core.sched.later(seconds, done))
            return False
        if app == "echo":
            if ch.state != UP:
                self._answer()
            return False
        if app == "amd":
            Detection(self, AMD_SETTINGS.with_args(args)).start()
            return False
        if app == "read":
            if ch.state != UP:
                self._answer()  # Read() answers first (unless its n or s option says not to)
            KeyRead(self, args).start()
            return False
        if app == "senddtmf":
            send_dtmf(self, data)
            return False
        if app == "waitforsilence":
            SilenceWait(self, args).start()
            return False
        if app == "userevent":
            parsed = user_event_headers(data)
            if parsed is not None:
                name, pairs = parsed
                core.channel_event("UserEvent", ch, ("UserEvent", name), *pairs, category="user")
            return True
        if app == "queue":
            if self.queue_app is None:
                raise RuntimeError("no queue application installed")
            self.queue_app(self, args, data)
            return False
        # Asterisk: "No application 'X'" ends the PBX for this channel.
        self.stopped = True
        core.hangup(ch, 16)
        return False

    def _goto(self, args: list[str]) -> bool:
        ch = self.ch
        parts = [a.strip() for a in args]
        if len(parts) == 1:
            context, exten, label = ch.context, ch.exten, parts[0]
        elif len(parts) == 2:
            context, exten, label = ch.context, parts[0], parts[1]
        else:
            context, exten, label = parts[0], parts[1], parts[2]
        if label.isdigit():
            number = int(label)
        else:
            found = self.core.dialplan.label(context, exten, label)
            if found is None:
                self.stopped = True
                self.core.hangup(ch, 16)
                return False
            number = found
        # Goto sets the priority before the increment that follows every application.
        ch.context, ch.exten, ch.priority = context, exten, number - 1
        return True

    def _answer(self) -> None:
        ch = self.ch
        self.core.newstate(ch, UP)
        one = ch.local_peer
        if one is not None and one.dial is not None:
            one.dial.answered()
        elif one is not None:
            self.core.newstate(one, UP)

    @property
    def media_wait(self) -> Timer | None:
        """The end of Answer()'s wait for the first media frame, while it waits."""
        return self._media_wait

    def _media_waited(self) -> None:
        self._media_wait = None
        self.resume()

    def media_started(self) -> None:
        """The other half of this Local channel began sending frames (a tone, a sound file)."""
        if self._media_since is None:
            self._media_since = self.core.now
        pending = self._media_wait
        if pending is not None and not pending.cancelled:
            pending.cancel()
            self._media_wait = None
            self.wait(_FIRST_FRAME)

    def sounds_to_peer(self) -> None:
        peer = self.ch.local_peer
        if peer is not None and peer.runner is not None:
            peer.runner.media_started()

    def voice_to_peer(self, start: float, end: float) -> None:
        """Sound on this Local half reaches whoever listens on the other (AMD, WaitForSilence)."""
        peer = self.ch.local_peer
        if peer is not None and peer.runner is not None and peer.runner.listener is not None:
            peer.runner.listener.voice(start, end)

    def _ringing(self) -> None:
        """Ringing() on a Local ``;2`` half: the dialing side hears it ringing."""
        one = self.ch.local_peer
        if one is not None and one.dial is not None:
            one.dial.ringing()


def _number(text: str, default: float) -> float:
    try:
        return float(text.strip())
    except (ValueError, AttributeError):
        return default


def run_hangup_handlers(core: Core, ch: Channel) -> None:
    """Run the handlers pushed with CHANNEL(hangup_handler_push), last pushed first, as the
    channel hangs up (before its Hangup event). A handler runs until Return() or its
    extension ends; only applications that need no live channel (Set, NoOp) do anything.
    As transcript 19 shows: HangupHandlerRun, the Gosub frame's LOCAL(ARGC), a Newexten per
    priority, and Return()'s ARGC and GOSUB_RETVAL; the Hangup event then tells where the
    channel was before."""
    where = (ch.context, ch.exten, ch.priority)
    handlers, ch.hangup_handlers = ch.hangup_handlers, []
    for spec in reversed(handlers):
        core.channel_event("HangupHandlerRun", ch, ("Handler", spec), category="dialplan")
        core.channel_event("VarSet", ch, ("Variable", "LOCAL(ARGC)"), ("Value", "0"), category="dialplan")
        parts = [p.strip() for p in split_args(spec)] + ["", ""]
        context, exten, prio = parts[0], parts[1] or "s", int(_number(parts[2], 1) or 1)
        runner = Runner(core, ch, context, exten, prio)
        runner.stopped = True  # never steps on its own: the channel is going
        for _ in range(100):
            step = core.dialplan.priority(ch.context, ch.exten, ch.priority)
            if step is None:
                break
            data = runner.expand(step.data)
            core.channel_event("Newexten", ch, ("Extension", ch.exten), ("Application", step.app), ("AppData", data),
                               category="dialplan")
            if step.app.lower() == "return":
                core.channel_event("VarSet", ch, ("Variable", "ARGC"), ("Value", ""), category="dialplan")
                core.channel_event("VarSet", ch, ("Variable", "GOSUB_RETVAL"), ("Value", data), category="dialplan")
                break
            if step.app.lower() == "set":
                name, _, value = data.partition("=")
                if not core.write_function(ch, name.strip(), value):
                    core.set_var(ch, name.strip(), value)
            ch.priority += 1
    ch.context, ch.exten, ch.priority = where
