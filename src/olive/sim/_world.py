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

from olive.sim._dial import Target
from olive.sim._dialplan import match_pattern
from olive.sim._far import AgentBehaviour, Behaviour
from olive.sim._scenario import Rule, Scenario

__all__ = ["World", "stable_rng"]


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
                return self._from_rule(rule, rng)
        if trunk.population is None:
            return Behaviour("invalid", 0.0)
        pop = self.scenario.populations[trunk.population]
        roll = rng.random()
        outcome = "noanswer"
        for name in ("answer", "busy", "congestion", "invalid", "rejected"):
            share = pop.shares.get(name, 0.0)
            if roll < share:
                outcome = name
                break
            roll -= share
        if outcome == "answer":
            return Behaviour(
                "answer",
                pop.answer_delay.draw(rng),
                patience=pop.patience.draw(rng) if pop.patience else None,
                talk=pop.talk.draw(rng),
            )
        if outcome == "noanswer":
            return Behaviour("noanswer")
        return Behaviour(outcome, pop.fail_delay.draw(rng))

    @staticmethod
    def _from_rule(rule: Rule, rng: random.Random) -> Behaviour:
        return Behaviour(
            rule.outcome,
            rule.delay.draw(rng),
            patience=rule.patience.draw(rng) if rule.patience else None,
            talk=rule.talk.draw(rng) if rule.talk else None,
            max_call=rule.max_call.draw(rng) if rule.max_call else None,
        )

    def agent(self, interface: str) -> AgentBehaviour:
        self.rung[interface] += 1
        rng = stable_rng(self.seed, "agent", interface, self.rung[interface])
        model = self.scenario.agents
        answers = rng.random() >= model.no_answer
        return AgentBehaviour(answers, model.answer_delay.draw(rng), model.talk.draw(rng) if model.talk else None)
