"""Benchmark scenarios: the TOML format of benchmarks/standard-grid.toml.

A scenario has ``[defaults]`` and one ``[[cell]]`` per simulated campaign.
A cell takes every default it does not set. A sub-table in a cell
(``[cell.talk]``...) overrides the default's keys one by one, unless it names
a ``dist``, in which case it replaces the default sub-table whole.
``[[cell.change]]`` entries change the answer rate, the talk-time mean or the
number of agents at a minute of the shift. docs/pacing.md documents every key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olive.bench._distributions import Distribution, Exponential, Fixed, LogNormal, ShiftedGamma


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file, the cell and the key."""


@dataclass(frozen=True, slots=True)
class NoAnswer:
    fast_fail_share: float  # busy, congestion, invalid: resolved after fast_fail_s
    fast_fail_s: float
    ring_timeout_s: float  # every other non-answer rings this long

    @property
    def mean_s(self) -> float:
        return self.fast_fail_share * self.fast_fail_s + (1 - self.fast_fail_share) * self.ring_timeout_s


@dataclass(frozen=True, slots=True)
class Change:
    at_minutes: float
    answer_rate: float | None = None
    talk_mean_s: float | None = None
    agents: int | None = None
    ring_timeout_s: float | None = None  # the plan's dial timeout, from now on


@dataclass(frozen=True, slots=True)
class Cell:
    name: str
    agents: int
    answer_rate: float
    hours: float  # measured hours per seed, after the warm-up
    warmup_minutes: float
    seeds: tuple[int, ...]
    abandon_target: float
    patience_s: float
    talk: Distribution
    wrapup: Distribution
    answer_delay: Distribution
    no_answer: NoAnswer
    changes: tuple[Change, ...] = ()
    tick_s: float = 1.0  # how often the pacer is asked even when nothing happened
    max_concurrent: int | None = None
    max_calls_per_second: float | None = None
    amd: Amd | None = None  # answering machines and AMD; None: every answer is a person
    # An agentless campaign (dial mode agentless): every answer hears a recorded message this
    # long (until the person hangs up or it ends); no agent takes a call. None: agents do.
    message: Distribution | None = None

    @property
    def agentless(self) -> bool:
        return self.message is not None


@dataclass(frozen=True, slots=True)
class Amd:
    """Answering machines among the answers, and how app_amd tells them from people.

    An answered dial is a machine with probability ``machine_share``. AMD listens
    ``human_s`` before a HUMAN verdict and ``machine_s`` before a MACHINE one; it takes
    a person for a machine with probability ``false_positive`` and a machine for a
    person with ``false_negative`` (that machine then goes to an agent like a person).
    ``person_share`` is the plan's ``amd_false_positive_share``, the share of MACHINE
    verdicts the operator estimates were people (default: the true share).
    """

    machine_share: float
    human_s: float = 2.5
    machine_s: float = 3.5
    false_positive: float = 0.01
    false_negative: float = 0.10
    estimated_person_share: float | None = None

    @property
    def person_share(self) -> float:
        if self.estimated_person_share is not None:
            return self.estimated_person_share
        people = (1 - self.machine_share) * self.false_positive
        machines = self.machine_share * (1 - self.false_negative)
        return people / (people + machines) if people + machines else 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    path: str
    cells: tuple[Cell, ...]

    def cell(self, name: str) -> Cell:
        for cell in self.cells:
            if cell.name == name:
                return cell
        raise KeyError(name)


_SCALARS = {
    "hours", "warmup_minutes", "seeds", "abandon_target", "patience_s", "agents",
    "answer_rate", "tick_s", "max_concurrent", "max_calls_per_second",
}  # fmt: skip
_TABLES = {"talk", "wrapup", "answer_delay", "no_answer", "amd", "message"}
_AMD_KEYS = {"machine_share", "human_s", "machine_s", "false_positive", "false_negative", "person_share"}
_DIST_KEYS = {
    "fixed": ({"value_s"}, set()),
    "exponential": ({"mean_s"}, set()),
    "lognormal": ({"mean_s", "cv"}, set()),
    "shifted_gamma": ({"shift_s", "shape", "scale_s"}, {"max_s"}),
}
_NO_ANSWER_KEYS = {"fast_fail_share", "fast_fail_s", "ring_timeout_s"}
_CHANGE_KEYS = {"at_minutes", "answer_rate", "talk_mean_s", "agents", "ring_timeout_s"}


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(data, str(path))


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    unknown = set(data) - {"defaults", "cell", "name", "description"}
    if unknown:
        raise ScenarioError(f"{source}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ScenarioError(f"{source}: [defaults] must be a table")
    _check_keys(defaults, _SCALARS | _TABLES, f"{source}: [defaults]")
    raw_cells = data.get("cell")
    if not isinstance(raw_cells, list) or not raw_cells:
        raise ScenarioError(f"{source}: no [[cell]] to run")
    cells: list[Cell] = []
    for index, raw in enumerate(raw_cells, start=1):
        where = f"{source}: cell {index}" + (f" ({raw['name']})" if isinstance(raw.get("name"), str) else "")
        cells.append(_cell(defaults, raw, where))
    names = [c.name for c in cells]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioError(f"{source}: cell names must be unique; repeated: {', '.join(duplicates)}")
    return Scenario(source, tuple(cells))


def _cell(defaults: Mapping[str, Any], raw: Mapping[str, Any], where: str) -> Cell:
    _check_keys(raw, _SCALARS | _TABLES | {"name", "change"}, where)
    merged: dict[str, Any] = {k: v for k, v in defaults.items() if k not in _TABLES}
    merged.update({k: v for k, v in raw.items() if k not in _TABLES})
    for table in _TABLES:
        base, own = defaults.get(table, {}), raw.get(table, {})
        if not isinstance(base, dict) or not isinstance(own, dict):
            raise ScenarioError(f"{where}: [{table}] must be a table")
        merged[table] = dict(own) if "dist" in own else {**base, **own}
    message = _distribution(merged["message"], f"{where}: [message]") if merged.get("message") else None
    agents = _int(merged, "agents", where, minimum=0 if message else 1)
    answer_rate = _number(merged, "answer_rate", where, low=0.0, high=1.0)
    name = raw.get("name", f"a{agents}-p{answer_rate:g}")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: name must be a non-empty string")
    seeds = merged.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ScenarioError(f"{where}: seeds must be a non-empty list of integers")
    no_answer = merged["no_answer"]
    _check_keys(no_answer, _NO_ANSWER_KEYS, f"{where}: [no_answer]", required=_NO_ANSWER_KEYS)
    if message is not None:
        if "max_concurrent" not in merged and "max_calls_per_second" not in merged:
            raise ScenarioError(
                f"{where}: an agentless cell ([message]) needs max_concurrent or max_calls_per_second: "
                "they are its only pace"
            )
        if merged.get("amd"):
            raise ScenarioError(f"{where}: an agentless cell runs no AMD (a plan cannot combine both)")
    changes = raw.get("change", [])
    if not isinstance(changes, list):
        raise ScenarioError(f"{where}: change must be an array of tables ([[cell.change]])")
    return Cell(
        name=name,
        agents=agents,
        answer_rate=answer_rate,
        hours=_number(merged, "hours", where, low=0.0, open_low=True),
        warmup_minutes=_number(merged, "warmup_minutes", where, low=0.0),
        seeds=tuple(seeds),
        abandon_target=_number(merged, "abandon_target", where, low=0.0, high=1.0, open_low=True),
        patience_s=_number(merged, "patience_s", where, low=0.0, open_low=True),
        talk=_distribution(merged["talk"], f"{where}: [talk]"),
        wrapup=_distribution(merged["wrapup"], f"{where}: [wrapup]"),
        answer_delay=_distribution(merged["answer_delay"], f"{where}: [answer_delay]"),
        no_answer=NoAnswer(
            fast_fail_share=_number(no_answer, "fast_fail_share", f"{where}: [no_answer]", low=0.0, high=1.0),
            fast_fail_s=_number(no_answer, "fast_fail_s", f"{where}: [no_answer]", low=0.0, open_low=True),
            ring_timeout_s=_number(no_answer, "ring_timeout_s", f"{where}: [no_answer]", low=0.0, open_low=True),
        ),
        changes=tuple(_change(c, f"{where}: change {i}") for i, c in enumerate(changes, start=1)),
        tick_s=_number(merged, "tick_s", where, low=0.0, open_low=True) if "tick_s" in merged else 1.0,
        max_concurrent=_int(merged, "max_concurrent", where, minimum=1) if "max_concurrent" in merged else None,
        max_calls_per_second=(
            _number(merged, "max_calls_per_second", where, low=0.0, open_low=True)
            if "max_calls_per_second" in merged
            else None
        ),
        amd=_amd(merged["amd"], f"{where}: [amd]") if merged.get("amd") else None,
        message=message,
    )


def _amd(raw: Mapping[str, Any], where: str) -> Amd:
    _check_keys(raw, _AMD_KEYS, where, required={"machine_share"})
    fields = {k: _number(raw, k, where, low=0.0, high=1.0) for k in ("machine_share", "false_positive", "false_negative")
              if k in raw}
    fields |= {k: _number(raw, k, where, low=0.0) for k in ("human_s", "machine_s") if k in raw}
    share = _number(raw, "person_share", where, low=0.0, high=1.0) if "person_share" in raw else None
    return Amd(estimated_person_share=share, **fields)


def _change(raw: Any, where: str) -> Change:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    _check_keys(raw, _CHANGE_KEYS, where, required={"at_minutes"})
    if len(raw) < 2:
        raise ScenarioError(f"{where}: changes nothing (set answer_rate, talk_mean_s, agents or ring_timeout_s)")
    return Change(
        at_minutes=_number(raw, "at_minutes", where, low=0.0),
        answer_rate=_number(raw, "answer_rate", where, low=0.0, high=1.0) if "answer_rate" in raw else None,
        talk_mean_s=_number(raw, "talk_mean_s", where, low=0.0, open_low=True) if "talk_mean_s" in raw else None,
        agents=_int(raw, "agents", where, minimum=0) if "agents" in raw else None,
        ring_timeout_s=(
            _number(raw, "ring_timeout_s", where, low=0.0, open_low=True) if "ring_timeout_s" in raw else None
        ),
    )


def _distribution(raw: Mapping[str, Any], where: str) -> Distribution:
    kind = raw.get("dist")
    if kind not in _DIST_KEYS:
        raise ScenarioError(f"{where}: dist must be one of {', '.join(sorted(_DIST_KEYS))}, got {kind!r}")
    required, optional = _DIST_KEYS[kind]
    _check_keys(raw, required | optional | {"dist"}, where, required=required)

    def positive(key: str) -> float:
        return _number(raw, key, where, low=0.0, open_low=True)

    if kind == "fixed":
        return Fixed(_number(raw, "value_s", where, low=0.0))
    if kind == "exponential":
        return Exponential(positive("mean_s"))
    if kind == "lognormal":
        return LogNormal(positive("mean_s"), positive("cv"))
    shifted = ShiftedGamma(
        _number(raw, "shift_s", where, low=0.0),
        positive("shape"),
        positive("scale_s"),
        positive("max_s") if "max_s" in raw else None,
    )
    if shifted.max_s is not None and shifted.max_s <= shifted.shift_s:
        raise ScenarioError(f"{where}: max_s must be greater than shift_s")
    return shifted


def _check_keys(
    table: Mapping[str, Any], allowed: set[str], where: str, required: set[str] | None = None
) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    missing = (required or set()) - set(table)
    if missing:
        raise ScenarioError(f"{where}: missing key(s): {', '.join(sorted(missing))}")


def _number(
    table: Mapping[str, Any],
    key: str,
    where: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    open_low: bool = False,
) -> float:
    if key not in table:
        raise ScenarioError(f"{where}: missing key: {key}")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    if value < low or (open_low and value == low) or value > high:
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        limit = bound + (f" and <= {high:g}" if high < math.inf else "")
        raise ScenarioError(f"{where}: {key} must be {limit}, got {value!r}")
    return float(value)


def _int(table: Mapping[str, Any], key: str, where: str, *, minimum: int) -> int:
    if key not in table:
        raise ScenarioError(f"{where}: missing key: {key}")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value
