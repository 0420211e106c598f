"""Scenario files (TOML): what the simulated PBX's world looks like.

See docs/simulator.md for the format. Loading checks every field and fails
with a :class:`ScenarioError` that names it (``trunks.trunk.rules[2].outcome``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from olive.sim._dialplan import ConfigError, Dialplan, parse_extensions, parse_queues

__all__ = [
    "OUTCOMES",
    "AgentModel",
    "AmdModel",
    "Distribution",
    "IvrModel",
    "Population",
    "Rule",
    "Scenario",
    "ScenarioError",
    "builtin_scenario",
    "load_scenario",
]

OUTCOMES = ("answer", "machine", "busy", "congestion", "invalid", "rejected", "noanswer")
BUILTIN_CONF = {"@lab": "lab", "@olive": "olive"}


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the field."""


@dataclass(frozen=True)
class Distribution:
    kind: str  # fixed, uniform, lognormal, exponential
    a: float = 0.0
    b: float = 0.0
    low: float = 0.0
    high: float = math.inf

    def draw(self, rng: Any) -> float:
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        elif self.kind == "exponential":
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        else:  # lognormal from mean and coefficient of variation
            sigma2 = math.log(1.0 + self.b * self.b)
            mu = math.log(self.a) - sigma2 / 2.0
            value = rng.lognormvariate(mu, math.sqrt(sigma2))
        return min(max(value, self.low), self.high)


@dataclass(frozen=True)
class Rule:
    match: str
    outcome: str
    delay: Distribution
    talk: Distribution | None = None
    patience: Distribution | None = None
    max_call: Distribution | None = None
    greeting: Distribution | None = None  # outcome "machine": seconds of greeting before the beep


@dataclass(frozen=True)
class Population:
    shares: dict[str, float]
    answer_delay: Distribution
    fail_delay: Distribution
    talk: Distribution
    patience: Distribution | None
    greeting: Distribution = Distribution("uniform", 4.0, 12.0)  # a machine's greeting, to the beep


@dataclass(frozen=True)
class Trunk:
    name: str
    context: str
    rules: tuple[Rule, ...]
    population: str | None


@dataclass(frozen=True)
class AgentModel:
    answer_delay: Distribution = Distribution("fixed", 1.0)
    no_answer: float = 0.0
    talk: Distribution | None = None
    wrapup: int | None = None
    context: str = "agents"


@dataclass(frozen=True)
class AmdModel:
    """How well app_amd tells people from machines on this scenario's trunks.

    ``false_positive``: share of people AMD calls MACHINE; ``false_negative``: share of
    machines it calls HUMAN; ``notsure``: share of either it gives up on (NOTSURE,
    after the total analysis time). ``human_delay`` / ``machine_delay``: seconds from the
    start of AMD() to its verdict (a person's "hello" plus the 800 ms of silence after it;
    1.5 s of a machine's greeting).
    """

    false_positive: float = 0.0
    false_negative: float = 0.0
    notsure: float = 0.0
    human_delay: Distribution = Distribution("uniform", 1.3, 2.3)
    machine_delay: Distribution = Distribution("uniform", 1.5, 2.5)


@dataclass(frozen=True)
class IvrModel:
    """What the people on this scenario's trunks do when an agentless call's Read() asks
    for a key: ``keys`` maps a key to the share of people who press it (the rest press
    nothing); ``delay``: seconds from the start of Read() (its prompt) to the key."""

    keys: tuple[tuple[str, float], ...] = ()
    delay: Distribution = Distribution("uniform", 1.0, 4.0)


@dataclass
class Scenario:
    name: str = "scenario"
    seed: int = 0
    scale: float = 1.0
    dialplan: Dialplan = field(default_factory=Dialplan)
    queues: dict[str, dict[str, str]] = field(default_factory=dict)
    trunks: dict[str, Trunk] = field(default_factory=dict)
    populations: dict[str, Population] = field(default_factory=dict)
    agents: AgentModel = field(default_factory=AgentModel)
    amd: AmdModel = field(default_factory=AmdModel)
    ivr: IvrModel = field(default_factory=IvrModel)
    sounds: dict[str, float] = field(default_factory=dict)
    # Where the voice is in a sound, as (from, to) seconds into it; a sound not named here is voice throughout.
    sound_voice: dict[str, tuple[float, float]] = field(default_factory=dict)
    vary_order: bool = False
    # asterisk.conf's transmit_silence: a channel in Wait() sends silence frames (docs/asterisk-setup.md
    # asks it of a test Asterisk); Asterisk's default is no.
    transmit_silence: bool = False
    source: str = "<memory>"


def _err(where: str, message: str) -> ScenarioError:
    return ScenarioError(f"{where}: {message}")


def _number(value: Any, where: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(where, f"expected a number, got {value!r}")
    if value < minimum:
        raise _err(where, f"must be >= {minimum}, got {value!r}")
    return float(value)


def _dist(value: Any, where: str) -> Distribution:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Distribution("fixed", _number(value, where))
    if isinstance(value, list) and len(value) == 2:
        low, high = _number(value[0], f"{where}[0]"), _number(value[1], f"{where}[1]")
        if high < low:
            raise _err(where, "the range's end is before its start")
        return Distribution("uniform", low, high)
    if not isinstance(value, dict):
        raise _err(where, f"expected seconds, [low, high] or a table with 'dist', got {value!r}")
    known = {"dist", "value", "low", "high", "mean", "cv", "min", "max"}
    for key in value:
        if key not in known:
            raise _err(f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(known))})")
    kind = value.get("dist", "fixed")
    lo = _number(value.get("min", 0.0), f"{where}.min")
    hi = _number(value["max"], f"{where}.max") if "max" in value else math.inf
    if kind == "fixed":
        return Distribution("fixed", _number(value.get("value"), f"{where}.value"), low=lo, high=hi)
    if kind == "uniform":
        a, b = _number(value.get("low"), f"{where}.low"), _number(value.get("high"), f"{where}.high")
        if b < a:
            raise _err(where, "high must be >= low")
        return Distribution("uniform", a, b, lo, hi)
    if kind == "exponential":
        return Distribution("exponential", _number(value.get("mean"), f"{where}.mean"), low=lo, high=hi)
    if kind == "lognormal":
        mean = _number(value.get("mean"), f"{where}.mean")
        if mean <= 0:
            raise _err(f"{where}.mean", "must be > 0")
        return Distribution("lognormal", mean, _number(value.get("cv", 0.5), f"{where}.cv"), lo, hi)
    raise _err(f"{where}.dist", f"unknown distribution {kind!r} (fixed, uniform, lognormal, exponential)")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _err(where, f"expected a table, got {value!r}")
    return value


def _check_keys(table: dict[str, Any], where: str, known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise _err(f"{where}.{key}" if where else key, f"unknown key (expected one of {', '.join(sorted(known))})")


def _read_conf(ref: str, base: Path, kind: str, where: str) -> tuple[str, str]:
    if ref in BUILTIN_CONF:
        name = f"{BUILTIN_CONF[ref]}.{kind}.conf"
        return resources.files("olive.sim").joinpath("scenarios", name).read_text(), name
    path = (base / ref).resolve()
    if not path.is_file():
        raise _err(where, f"no such file: {path}")
    return path.read_text(), str(path)


def _rule(raw: Any, where: str) -> Rule:
    r = _table(raw, where)
    _check_keys(r, where, {"match", "outcome", "delay", "talk", "patience", "max_call", "greeting"})
    match = r.get("match")
    if not isinstance(match, str) or not match:
        raise _err(f"{where}.match", "expected a number or an Asterisk pattern such as '_2XXX'")
    outcome = r.get("outcome")
    if outcome not in OUTCOMES:
        raise _err(f"{where}.outcome", f"expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
    opt = {k: _dist(r[k], f"{where}.{k}") for k in ("talk", "patience", "max_call", "greeting") if k in r}
    return Rule(match, outcome, _dist(r.get("delay", 0), f"{where}.delay"), **opt)


def _population(raw: Any, where: str) -> Population:
    p = _table(raw, where)
    shares_keys = {"answer", "machine", "busy", "congestion", "invalid", "rejected"}
    _check_keys(p, where, shares_keys | {"answer_delay", "fail_delay", "talk", "patience", "greeting"})
    shares = {k: _number(p.get(k, 0.0), f"{where}.{k}") for k in shares_keys}
    if sum(shares.values()) > 1.0 + 1e-9:
        raise _err(where, f"the shares add up to {sum(shares.values()):.3f}, more than 1 (the rest never answers)")
    for key in ("answer_delay", "talk"):
        if key not in p:
            raise _err(f"{where}.{key}", "missing")
    return Population(
        shares,
        _dist(p["answer_delay"], f"{where}.answer_delay"),
        _dist(p.get("fail_delay", [1, 5]), f"{where}.fail_delay"),
        _dist(p["talk"], f"{where}.talk"),
        _dist(p["patience"], f"{where}.patience") if "patience" in p else None,
        *([_dist(p["greeting"], f"{where}.greeting")] if "greeting" in p else []),
    )


def _amd(raw: Any) -> AmdModel:
    t = _table(raw, "amd")
    _check_keys(t, "amd", {"false_positive", "false_negative", "notsure", "human_delay", "machine_delay"})
    shares = {}
    for key in ("false_positive", "false_negative", "notsure"):
        shares[key] = _number(t.get(key, 0.0), f"amd.{key}")
        if shares[key] > 1:
            raise _err(f"amd.{key}", "a share must be between 0 and 1")
    default = AmdModel()
    return AmdModel(
        **shares,
        human_delay=_dist(t["human_delay"], "amd.human_delay") if "human_delay" in t else default.human_delay,
        machine_delay=_dist(t["machine_delay"], "amd.machine_delay") if "machine_delay" in t else default.machine_delay,
    )


def _ivr(raw: Any) -> IvrModel:
    t = _table(raw, "ivr")
    _check_keys(t, "ivr", {"keys", "delay"})
    keys = _table(t.get("keys", {}), "ivr.keys")
    shares: list[tuple[str, float]] = []
    for key, share in keys.items():
        if len(key) != 1 or key not in "0123456789*":
            raise _err(f"ivr.keys.{key}", "expected a single key: 0-9 or *")
        shares.append((key, _number(share, f"ivr.keys.{key}")))
    if sum(s for _, s in shares) > 1.0 + 1e-9:
        raise _err("ivr.keys", "the shares add up to more than 1 (the rest press nothing)")
    default = IvrModel()
    return IvrModel(tuple(shares), _dist(t["delay"], "ivr.delay") if "delay" in t else default.delay)


def parse_scenario(data: dict[str, Any], base: Path, source: str = "<memory>") -> Scenario:
    _check_keys(data, "", {"name", "seed", "scale", "pbx", "queues", "trunks", "population", "agents", "amd", "ivr"})
    sc = Scenario(source=source)
    sc.name = str(data.get("name", Path(source).stem))
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _err("seed", f"expected an integer, got {seed!r}")
    sc.seed = seed
    sc.scale = _number(data.get("scale", 1.0), "scale")
    if sc.scale <= 0:
        raise _err("scale", "must be > 0")
    pbx = _table(data.get("pbx", {}), "pbx")
    _check_keys(pbx, "pbx", {"dialplan", "queues", "sounds", "vary_order", "transmit_silence"})
    vary = pbx.get("vary_order", False)
    if not isinstance(vary, bool):
        raise _err("pbx.vary_order", f"expected true or false, got {vary!r}")
    sc.vary_order = vary
    silence = pbx.get("transmit_silence", False)
    if not isinstance(silence, bool):
        raise _err("pbx.transmit_silence", f"expected true or false, got {silence!r}")
    sc.transmit_silence = silence
    for i, ref in enumerate(pbx.get("dialplan", ["@olive"])):
        text, name = _read_conf(str(ref), base, "extensions", f"pbx.dialplan[{i}]")
        try:
            sc.dialplan.merge(parse_extensions(text, name))
        except ConfigError as exc:
            raise _err(f"pbx.dialplan[{i}]", str(exc)) from exc
    for i, ref in enumerate(pbx.get("queues", ["@olive"])):
        text, name = _read_conf(str(ref), base, "queues", f"pbx.queues[{i}]")
        try:
            for qname, conf in parse_queues(text, name).items():
                if qname != "general":
                    sc.queues[qname] = conf
        except ConfigError as exc:
            raise _err(f"pbx.queues[{i}]", str(exc)) from exc
    for fname, raw in _table(pbx.get("sounds", {}), "pbx.sounds").items():
        where = f"pbx.sounds.{fname}"
        if not isinstance(raw, dict):
            sc.sounds[fname] = _number(raw, where)
            continue
        # { seconds = 5.66, voice = [0.22, 5.66] }: the file's length, and where in it the voice is
        _check_keys(raw, where, {"seconds", "voice"})
        sc.sounds[fname] = _number(raw.get("seconds"), f"{where}.seconds")
        voice = raw.get("voice", [0.0, sc.sounds[fname]])
        if not isinstance(voice, list) or len(voice) != 2:
            raise _err(f"{where}.voice", f"expected [from, to] in seconds, got {voice!r}")
        start, end = _number(voice[0], f"{where}.voice"), _number(voice[1], f"{where}.voice")
        if not start <= end <= sc.sounds[fname]:
            raise _err(f"{where}.voice", "expected 0 <= from <= to <= seconds")
        sc.sound_voice[fname] = (start, end)
    for pname, raw in _table(data.get("population", {}), "population").items():
        sc.populations[pname] = _population(raw, f"population.{pname}")
    for tname, raw in _table(data.get("trunks", {}), "trunks").items():
        where = f"trunks.{tname}"
        t = _table(raw, where)
        _check_keys(t, where, {"context", "rules", "population"})
        pop = t.get("population")
        if pop is not None and pop not in sc.populations:
            raise _err(f"{where}.population", f"no [population.{pop}] in this scenario")
        rules = tuple(_rule(r, f"{where}.rules[{i}]") for i, r in enumerate(t.get("rules", [])))
        sc.trunks[tname] = Trunk(tname, str(t.get("context", "default")), rules, pop)
    sc.amd = _amd(data.get("amd", {}))
    sc.ivr = _ivr(data.get("ivr", {}))
    agents = _table(data.get("agents", {}), "agents")
    _check_keys(agents, "agents", {"answer_delay", "no_answer", "talk", "wrapup", "context"})
    no_answer = _number(agents.get("no_answer", 0.0), "agents.no_answer")
    if no_answer > 1:
        raise _err("agents.no_answer", "a share must be between 0 and 1")
    wrapup = agents.get("wrapup")
    sc.agents = AgentModel(
        _dist(agents.get("answer_delay", 1.0), "agents.answer_delay"),
        no_answer,
        _dist(agents["talk"], "agents.talk") if "talk" in agents else None,
        int(_number(wrapup, "agents.wrapup")) if wrapup is not None else None,
        str(agents.get("context", "agents")),
    )
    if sc.agents.wrapup is not None:
        # The agents' after-call work, as every queue's wrapuptime (a [queues.NAME] table may still set its own).
        for conf in sc.queues.values():
            conf["wrapuptime"] = str(sc.agents.wrapup)
    for qname, raw in _table(data.get("queues", {}), "queues").items():
        conf = _table(raw, f"queues.{qname}")
        sc.queues.setdefault(qname, {}).update({k: str(v).lower() if isinstance(v, bool) else str(v)
                                                 for k, v in conf.items()})
    return sc


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError as exc:
        raise ScenarioError(f"{p}: no such scenario file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML: {exc}") from exc
    try:
        return parse_scenario(data, p.parent, str(p))
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from exc


def builtin_scenario(name: str) -> Scenario:
    """``default`` (the demo's population) or ``lab`` (conf/extensions.conf of the transcripts)."""
    ref = resources.files("olive.sim").joinpath("scenarios", f"{name}.toml")
    if not ref.is_file():
        raise ScenarioError(f"no built-in scenario {name!r} (default, lab)")
    with resources.as_file(ref) as path:
        return load_scenario(path)
