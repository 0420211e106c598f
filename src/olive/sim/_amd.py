"""AMD(), WaitForSilence() and UserEvent(): answering-machine detection as app_amd does it.

app_amd (apps/app_amd.c) reads the answered channel's audio and sets two
variables, AMDSTATUS (MACHINE, HUMAN, NOTSURE, HANGUP) and AMDCAUSE (which
rule decided, with its numbers: ``INITIALSILENCE-2500-2500``,
``LONGGREETING-1500-1500``, ``HUMAN-800-800``, ``MAXWORDS-3-3``,
``TOOLONG-5000``; empty on HANGUP), then returns 0: the dialplan goes on, or,
when the far end hung up during detection, the PBX ends.

The simulator has no audio, so it listens to what makes sound instead:

- a customer behind a scenario trunk carries the verdict drawn from the
  scenario's ``[amd]`` accuracy (:func:`olive.sim._world.amd_verdict`);
- a Local channel's ``;2`` half makes sound while it runs ``Playback()``, and is
  silent otherwise (``Wait()``, ``Answer()``): the thresholds of app_amd are
  applied to that, with each ``Playback()`` counted as one stretch of voice.
  So a Local customer that says nothing is a MACHINE (INITIALSILENCE), one that
  plays a short "hello" is HUMAN, one whose greeting lasts 1.5 s is a MACHINE
  (LONGGREETING), as on a real Asterisk 22 with transmit_silence = yes
  (transcripts 23-25). Without it a Local channel in Wait() sends no frames and
  app_amd says NOTSURE (transcript 26): not played here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from olive.sim._dialplan import split_args

if TYPE_CHECKING:
    from olive.sim._apps import Runner
    from olive.sim._clockwork import Timer

__all__ = ["AMD_SETTINGS", "AmdSettings", "Detection", "SilenceWait", "user_event_headers"]


@dataclass(frozen=True)
class AmdSettings:
    """app_amd's parameters in milliseconds (amd.conf ``[general]``, or AMD()'s arguments
    in this order). The values are those of docs/asterisk/amd.conf."""

    initial_silence: int = 2500
    greeting: int = 1500
    after_greeting_silence: int = 800
    total_analysis_time: int = 5000
    min_word_length: int = 100
    between_words_silence: int = 50
    maximum_number_of_words: int = 3
    silence_threshold: int = 256
    maximum_word_length: int = 5000

    def with_args(self, args: list[str]) -> AmdSettings:
        """AMD(initialSilence,greeting,...): each non-empty argument replaces its default (atoi)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for f, arg in zip(fields(self), args, strict=False):
            text = arg.strip()
            if text:
                values[f.name] = _atoi(text)
        return AmdSettings(**values)


AMD_SETTINGS = AmdSettings()


def _atoi(text: str) -> int:
    digits = ""
    for i, c in enumerate(text):
        if c.isdigit() or (i == 0 and c in "+-"):
            digits += c
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


class Detection:
    """One AMD() run on a runner's channel; it ends by setting AMDSTATUS and AMDCAUSE."""

    def __init__(self, runner: Runner, settings: AmdSettings) -> None:
        self.runner = runner
        self.s = settings
        self.started = runner.core.now
        self.silent_from = self.started  # when the far end's silence begins to be heard
        self.voiced = 0.0  # seconds of voice heard so far
        self.heard_voice = False
        self._timer: Timer | None = None
        self._limit: Timer | None = None
        self.done = False

    def start(self) -> None:
        runner, core = self.runner, self.runner.core
        runner.listener = self
        far = runner.ch.far
        verdict = getattr(getattr(far, "behaviour", None), "amd", None)
        if verdict is not None:
            status, cause, seconds = verdict
            self._at(seconds, status, cause)
            return
        s = self.s
        # Answer() on the ;2 half first waits up to 0.5 s for media (AMD sends none) and sends
        # nothing meanwhile: app_amd hears no frames, so its silence starts after that wait
        # (transcript 25: INITIALSILENCE 3.0 s after the answer, not 2.5 s).
        peer = runner.ch.local_peer
        media_wait = peer.runner.media_wait if peer is not None and peer.runner is not None else None
        if media_wait is not None and not media_wait.cancelled and media_wait.when > core.now:
            self.silent_from = media_wait.when
        self._limit = core.sched.later(s.total_analysis_time / 1000, lambda: self.finish("NOTSURE", f"TOOLONG-{s.total_analysis_time}"))
        runner.ch.timers.append(self._limit)
        voice_until = peer.runner.voice_until if peer is not None and peer.runner is not None else None
        if peer is not None and peer.runner is not None and voice_until is not None and voice_until > core.now:
            self.voice(peer.runner.voice_from, voice_until)
        else:
            self._silence()

    def _at(self, seconds: float, status: str, cause: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.runner.core.sched.later(max(0.0, seconds), lambda: self.finish(status, cause))
        self.runner.ch.timers.append(self._timer)

    def _silence(self) -> None:
        """Nothing is being said: the initial silence, or the silence after a greeting."""
        s = self.s
        if not self.heard_voice:
            left = s.initial_silence / 1000 - (self.runner.core.now - self.silent_from)
            self._at(left, "MACHINE", f"INITIALSILENCE-{s.initial_silence}-{s.initial_silence}")
        else:
            self._at(s.after_greeting_silence / 1000, "HUMAN", f"HUMAN-{s.after_greeting_silence}-{s.after_greeting_silence}")

    def voice(self, start: float, end: float) -> None:
        """The far end makes sound from ``start`` to ``end`` (a Playback on the ;2 half)."""
        if self.done:
            return
        s, now = self.s, self.runner.core.now
        self.heard_voice = True
        greeting_left = s.greeting / 1000 - self.voiced
        begin = max(start, now)  # a sound may start with silence (vm-intro: 0.22 s)
        length = end - begin
        if length >= greeting_left:
            self._at(begin - now + greeting_left, "MACHINE", f"LONGGREETING-{s.greeting}-{s.greeting}")
            return
        self.voiced += length
        # The silence after it starts when the voice ends.
        self._at(end - now + s.after_greeting_silence / 1000, "HUMAN",
                 f"HUMAN-{s.after_greeting_silence}-{s.after_greeting_silence}")

    def finish(self, status: str, cause: str) -> None:
        if self.done:
            return
        self.done = True
        for timer in (self._timer, self._limit):
            if timer is not None:
                timer.cancel()
        runner, core = self.runner, self.runner.core
        runner.listener = None
        core.set_var(runner.ch, "AMDSTATUS", status)
        core.set_var(runner.ch, "AMDCAUSE", cause)
        if status != "HANGUP":
            runner.resume()

    def hangup(self) -> None:
        """The far end hung up during detection: ast_read() fails, AMDSTATUS is HANGUP."""
        self.finish("HANGUP", "")


class SilenceWait:
    """WaitForSilence(silencerequired[,iterations[,timeout]]): waits until the far end has been
    silent for ``silencerequired`` ms (WAITSTATUS=SILENCE) or ``timeout`` s pass (TIMEOUT)."""

    def __init__(self, runner: Runner, args: list[str]) -> None:
        self.runner = runner
        self.required = max(0, _atoi(args[0].strip())) / 1000 if args and args[0].strip() else 1.0
        timeout = args[2].strip() if len(args) > 2 else ""
        self.timeout = float(timeout) if timeout and _is_number(timeout) else 0.0
        self.started = runner.core.now
        self._timer: Timer | None = None
        self._deadline: Timer | None = None
        self.done = False

    def start(self) -> None:
        runner, core = self.runner, self.runner.core
        runner.listener = self
        if self.timeout > 0:
            self._deadline = core.sched.later(self.timeout, lambda: self.finish("TIMEOUT"))
            runner.ch.timers.append(self._deadline)
        silent_from = core.now
        far = runner.ch.far
        if far is not None and hasattr(far, "silent_from"):
            silent_from = max(silent_from, far.silent_from())
        peer = runner.ch.local_peer
        if peer is not None and peer.runner is not None and peer.runner.voice_until is not None:
            silent_from = max(silent_from, peer.runner.voice_until)
        self._silent_from(silent_from)

    def _silent_from(self, at: float) -> None:
        core = self.runner.core
        if self._timer is not None:
            self._timer.cancel()
        self._timer = core.sched.later(max(0.0, at - core.now) + self.required, lambda: self.finish("SILENCE"))
        self.runner.ch.timers.append(self._timer)

    def voice(self, start: float, end: float) -> None:
        if not self.done:
            self._silent_from(end)

    def finish(self, status: str) -> None:
        if self.done:
            return
        self.done = True
        for timer in (self._timer, self._deadline):
            if timer is not None:
                timer.cancel()
        runner = self.runner
        runner.listener = None
        runner.core.set_var(runner.ch, "WAITSTATUS", status)
        if status != "HANGUP":
            runner.resume()

    def hangup(self) -> None:
        self.finish("HANGUP")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def user_event_headers(data: str) -> tuple[str, list[tuple[str, str]]] | None:
    """UserEvent(eventname[,body]): the event name and the body's ``Key: Value`` pairs
    (app_userevent: each argument after the name split at its first colon, blanks trimmed;
    an argument without a colon is skipped). None without an event name."""
    args = split_args(data)
    name = args[0].strip() if args else ""
    if not name:
        return None
    pairs: list[tuple[str, str]] = []
    for arg in args[1:]:
        key, colon, value = arg.partition(":")
        if colon and key.strip():
            pairs.append((key.strip(), value.strip()))
    return name, pairs
