"""What the people behind the phones do, drawn from the scenario.

Every call's randomness comes from the seed and stable facts about the call
(the number, the trunk and how many times that number was dialed there; the
agent's interface and how many times it was rung), never from arrival order:
the same seed gives the same calls whatever else happens around them.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import replace

from olive.sim._amd import AMD_SETTINGS
from olive.sim._dial import Target
from olive.sim._dialplan import match_pattern
from olive.sim._far import AgentBehaviour, Behaviour
from olive.sim._scenario import AmdModel, Rule, Scenario

__all__ = ["World", "amd_verdict", "stable_rng"]

_MACHINE_RECORDS = 30.0  # an answering machine records this long after its beep, then hangs up
_DEFAULT_GREETING = 8.0


def amd_verdict(model: AmdModel, *, machine: bool, rng: random.Random) -> tuple[str, str, float]:
    """(AMDSTATUS, AMDCAUSE, seconds) as app_amd would set them with docs/asterisk/amd.conf:
    a person is HUMAN once 800 ms of silence follow their greeting; a machine is MACHINE
    after 1500 ms of greeting; a person AMD gets wrong said too many words; a machine it gets
    wrong paused after a short greeting; NOTSURE comes at the 5000 ms total analysis time."""
    if rng.random() < model.notsure:
        return "NOTSURE", f"TOOLONG-{AMD_SETTINGS.total_analysis_time}", AMD_SETTINGS.total_analysis_time / 1000
    wrong = rng.random() < (model.false_negative if machine else model.false_positive)
    says_machine = machine != wrong
    if says_machine:
        delay = model.machine_delay.draw(rng)
        if machine:
            cause = f"LONGGREETING-{AMD_SETTINGS.greeting}-{AMD_SETTINGS.greeting}"
        else:
            words = AMD_SETTINGS.maximum_number_of_words
            cause = f"MAXWORDS-{words}-{words}"
        return "MACHINE", cause, delay
    after = AMD_SETTINGS.after_greeting_silence
    return "HUMAN", f"HUMAN-{after}-{after}", model.human_delay.draw(rng)


def stable_rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class World:
    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.dialed: Counter[str] = Counter()
        self.rung: Counter[str] = Counter()

    def endpoint_context(self, endpoint: str) -> str:
        trunk = self.scenario.trunks.get(endpoint)
        return trunk.context if trunk is not None else self.scenario.agents.context

    def sound_seconds(self, name: str) -> float:
        sounds = self.scenario.sounds
        return sounds.get(name, sounds.get("default", 3.0))

    def sound_voice(self, name: str) -> tuple[float, float]:
        """Where in the sound its voice is, in seconds from its start."""
        return self.scenario.sound_voice.get(name, (0.0, self.sound_seconds(name)))

    def rng_for_dial(self, target: Target) -> random.Random:
        key = f"{target.tech}/{target.resource}"
        self.dialed[key] += 1
        return stable_rng(self.seed, "dial", key, self.dialed[key])

    def customer(self, target: Target, rng: random.Random) -> Behaviour | None:
        """A number dialed through a trunk; None when the trunk does not exist."""
        trunk = self.scenario.trunks.get(target.where)
        if trunk is None:
            return None
        for rule in trunk.rules:
            if match_pattern(rule.match, target.exten):
                return self._with_amd(self._from_rule(rule, rng), target)
        if trunk.population is None:
            return Behaviour("invalid", 0.0)
        pop = self.scenario.populations[trunk.population]
        roll = rng.random()
        outcome = "noanswer"
        for name in ("answer", "machine", "busy", "congestion", "invalid", "rejected"):
            share = pop.shares.get(name, 0.0)
            if roll < share:
                outcome = name
                break
            roll -= share
        if outcome == "answer":
            return self._with_amd(Behaviour(
                "answer",
                pop.answer_delay.draw(rng),
                patience=pop.patience.draw(rng) if pop.patience else None,
                talk=pop.talk.draw(rng),
            ), target)
        if outcome == "machine":
            greeting = pop.greeting.draw(rng)
            machine = Behaviour("machine", pop.answer_delay.draw(rng), greeting=greeting,
                                max_call=greeting + _MACHINE_RECORDS)
            return self._with_amd(machine, target)
        if outcome == "noanswer":
            return Behaviour("noanswer")
        return Behaviour(outcome, pop.fail_delay.draw(rng))

    @staticmethod
    def _from_rule(rule: Rule, rng: random.Random) -> Behaviour:
        greeting = None
        if rule.outcome == "machine":
            greeting = rule.greeting.draw(rng) if rule.greeting else _DEFAULT_GREETING
        max_call = rule.max_call.draw(rng) if rule.max_call else None
        if greeting is not None and max_call is None:
            max_call = greeting + _MACHINE_RECORDS
        return Behaviour(
            rule.outcome,
            rule.delay.draw(rng),
            patience=rule.patience.draw(rng) if rule.patience else None,
            talk=rule.talk.draw(rng) if rule.talk else None,
            max_call=max_call,
            greeting=greeting,
        )

    def _with_amd(self, b: Behaviour, target: Target) -> Behaviour:
        """What AMD() would conclude on this answered call, from its own random stream
        (so drawing it changes nothing else about the call)."""
        if b.outcome not in ("answer", "machine"):
            return b
        key = f"{target.tech}/{target.resource}"
        rng = stable_rng(self.seed, "amd", key, self.dialed[key])
        b = replace(b, amd=amd_verdict(self.scenario.amd, machine=b.machine, rng=rng))
        return self._with_key(b, key) if b.outcome == "answer" else b

    def _with_key(self, b: Behaviour, key: str) -> Behaviour:
        """The key this person presses if an agentless call asks, from its own random stream."""
        ivr = self.scenario.ivr
        if not ivr.keys:
            return b
        rng = stable_rng(self.seed, "ivr", key, self.dialed[key])
        roll, delay = rng.random(), ivr.delay.draw(rng)
        for digit, share in ivr.keys:
            if roll < share:
                return replace(b, key=digit, key_delay=delay)
            roll -= share
        return b

    def agent(self, interface: str) -> AgentBehaviour:
        self.rung[interface] += 1
        rng = stable_rng(self.seed, "agent", interface, self.rung[interface])
        model = self.scenario.agents
        answers = rng.random() >= model.no_answer
        return AgentBehaviour(answers, model.answer_delay.draw(rng), model.talk.draw(rng) if model.talk else None)
