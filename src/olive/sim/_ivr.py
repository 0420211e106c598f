"""Read() and SendDTMF(): keys pressed on an answered call, as app_read and app_senddtmf do it.

Read(variable[,filenames[,maxdigits[,options[,attempts[,timeout]]]]]) in Asterisk 22
(apps/app_read.c): it answers the channel if needed, plays the ``&``-separated files
(any key interrupts them and counts as the first digit), then waits ``timeout`` seconds
for the first key after the files end (0 or empty: the PBX's response timeout, 10 s)
and as long again between keys. It stops at ``maxdigits`` keys (0: no limit), or at the
terminator ``#`` (not stored). It sets the variable (the keys read, maybe "") and then
READSTATUS: OK (maxdigits reached, or ``#``), TIMEOUT (no more keys in time; with no key
at all, after ``attempts`` plays), HANGUP (the channel hung up: the variable still gets
what was read, and the PBX ends).

SendDTMF(digits[,timeout_ms[,duration_ms]]): each key lasts ``duration_ms`` (100) and is
followed by ``timeout_ms`` (250) of pause. On a Local channel's ``;2`` half the key
comes out of the ``;1`` half, where a running Read() hears it at the key's end; a key
no Read() is waiting for is lost (Playback() ignores keys).

A customer behind a scenario trunk presses the key its :class:`~olive.sim._far.Behaviour`
carries (``key``, drawn from the scenario's ``[ivr]`` shares), ``key_delay`` seconds
after Read() starts. The simulator sends no DTMFBegin/DTMFEnd events: olive's
manager.conf does not read the ``dtmf`` class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from olive.sim._dialplan import split_args

if TYPE_CHECKING:
    from olive.sim._apps import Runner
    from olive.sim._clockwork import Timer

__all__ = ["KeyRead", "send_dtmf"]

RESPONSE_TIMEOUT_S = 10.0  # pbx.c: a PBX's rtimeoutms, Read()'s first-key wait without a timeout
DIGIT_TIMEOUT_S = 5.0  # pbx.c: dtimeoutms, the wait between keys without a timeout
DTMF_KEYS = frozenset("0123456789*#ABCD")


def _float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        return 0.0


class KeyRead:
    """One Read() on a runner's channel; it ends by setting its variable and READSTATUS."""

    def __init__(self, runner: Runner, args: list[str]) -> None:
        self.runner = runner
        args = [*args, "", "", "", "", "", ""]
        self.variable = args[0].strip()
        self.files = [f.strip() for f in args[1].split("&") if f.strip()]
        maxdigits = int(_float(args[2])) if args[2].strip() else 0
        self.maxdigits = 255 if maxdigits < 1 or maxdigits > 255 else maxdigits
        self.tries = max(1, int(_float(args[4]))) if args[4].strip() else 1
        timeout = _float(args[5])
        self.first_wait = timeout if timeout > 0 else RESPONSE_TIMEOUT_S
        self.between_wait = timeout if timeout > 0 else DIGIT_TIMEOUT_S
        self.digits = ""
        self.done = False
        self._timer: Timer | None = None
        self._keys: list[Timer] = []

    def start(self) -> None:
        runner = self.runner
        if not self.variable:
            # "Read requires an argument (variable)": the application fails, the PBX ends.
            runner.finish_hangup()
            return
        runner.listener = self
        self._play()
        behaviour = getattr(getattr(runner.ch, "far", None), "behaviour", None)
        key = getattr(behaviour, "key", None)
        if key:
            delay = float(getattr(behaviour, "key_delay", 0.0) or 0.0)
            timer = runner.core.sched.later(max(0.0, delay), lambda: self.dtmf(key))
            runner.ch.timers.append(timer)
            self._keys.append(timer)

    def _play(self) -> None:
        """Play the files, then wait for the first key."""
        core = self.runner.core
        if self.files:
            self.runner.sounds_to_peer()
        prompt = sum(core.sound_seconds(f) for f in self.files)
        self._wait(prompt + self.first_wait, self._timed_out)

    def _wait(self, seconds: float, then: object) -> None:
        assert callable(then)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.runner.core.sched.later(max(0.0, seconds), then)
        self.runner.ch.timers.append(self._timer)

    def _timed_out(self) -> None:
        if self.done:
            return
        if not self.digits:
            self.tries -= 1
            if self.tries > 0:
                self._play()
                return
        self.finish("TIMEOUT")

    def dtmf(self, key: str) -> None:
        """A key's end reached this channel."""
        if self.done:
            return
        if key == "#":
            self.finish("OK")
            return
        self.digits += key
        if len(self.digits) >= self.maxdigits:
            self.finish("OK")
            return
        self._wait(self.between_wait, self._timed_out)

    def finish(self, status: str) -> None:
        if self.done:
            return
        self.done = True
        for timer in (self._timer, *self._keys):
            if timer is not None:
                timer.cancel()
        runner, core = self.runner, self.runner.core
        runner.listener = None
        core.set_var(runner.ch, self.variable, self.digits)
        core.set_var(runner.ch, "READSTATUS", status)
        if status != "HANGUP":
            runner.resume()

    def hangup(self) -> None:
        self.finish("HANGUP")

    def voice(self, start: float, end: float) -> None:
        """Sound from the far end: Read() does not listen for it."""


def send_dtmf(runner: Runner, data: str) -> None:
    """SendDTMF(): press the keys one after another, then go on with the dialplan."""
    args = [*split_args(data), "", ""]
    between = _float(args[1]) / 1000 if args[1].strip() else 0.25
    duration = _float(args[2]) / 1000 if args[2].strip() else 0.1
    core, ch = runner.core, runner.ch
    at = 0.0
    for key in args[0].strip():
        if key.upper() not in DTMF_KEYS:
            continue

        def arrive(k: str = key.upper()) -> None:
            peer = ch.local_peer
            listener = peer.runner.listener if peer is not None and peer.runner is not None else None
            if isinstance(listener, KeyRead):
                listener.dtmf(k)

        ch.timers.append(core.sched.later(at + duration, arrive))
        at += duration + between
    runner.wait(at)
