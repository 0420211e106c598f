"""The part of extensions.conf and queues.conf the simulator understands.

extensions.conf: ``[context]`` sections with ``exten => PATTERN,PRIORITY(label),App(args)``,
``same => n,...`` and ``include => other``. Patterns use Asterisk's ``_`` syntax
(``X Z N [1-5] . !``). Substitution covers ``${VAR}``, ``${VAR:offset:length}``,
the functions a dialplan for a dialer needs (``RAND``, ``LEN``, ``IF``) and
``$[...]`` expressions with comparisons, ``&`` and ``|``.

queues.conf: every ``[queue]`` section with its ``key = value`` settings
(``[general]`` is kept apart).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "ConfigError",
    "Dialplan",
    "Priority",
    "evaluate",
    "parse_extensions",
    "parse_queues",
    "split_args",
    "substitute",
]


class ConfigError(ValueError):
    """A dialplan or queue configuration the simulator cannot read."""


@dataclass(frozen=True)
class Priority:
    number: int
    label: str | None
    app: str
    data: str


@dataclass
class Extension:
    pattern: str
    priorities: dict[int, Priority] = field(default_factory=dict)

    def matches(self, exten: str) -> bool:
        return match_pattern(self.pattern, exten)


@dataclass
class Dialplan:
    contexts: dict[str, list[Extension]] = field(default_factory=dict)
    includes: dict[str, list[str]] = field(default_factory=dict)
    globals: dict[str, str] = field(default_factory=dict)

    def merge(self, other: Dialplan) -> None:
        for name, extens in other.contexts.items():
            self.contexts.setdefault(name, []).extend(extens)
        for name, inc in other.includes.items():
            self.includes.setdefault(name, []).extend(inc)
        self.globals.update(other.globals)

    def find(self, context: str, exten: str, _seen: frozenset[str] = frozenset()) -> Extension | None:
        extens = self.contexts.get(context, [])
        for ext in extens:  # an exact extension wins over a pattern
            if not ext.pattern.startswith("_") and ext.pattern == exten:
                return ext
        matching = [ext for ext in extens if ext.pattern.startswith("_") and ext.matches(exten)]
        if matching:  # the most specific pattern wins, as in ext_cmp()
            return min(matching, key=lambda ext: _specificity(ext.pattern))
        for inc in self.includes.get(context, []):
            if inc not in _seen:
                found = self.find(inc, exten, _seen | {context})
                if found is not None:
                    return found
        return None

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        ext = self.find(context, exten)
        return ext is not None and priority in ext.priorities

    def priority(self, context: str, exten: str, priority: int) -> Priority | None:
        ext = self.find(context, exten)
        return None if ext is None else ext.priorities.get(priority)

    def label(self, context: str, exten: str, label: str) -> int | None:
        ext = self.find(context, exten)
        if ext is None:
            return None
        for number, prio in ext.priorities.items():
            if prio.label == label:
                return number
        return None


_CLASS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        c = body[i]
        if c.upper() in _CLASS:
            out.append(_CLASS[c.upper()])
        elif c == "[":
            end = body.index("]", i)
            out.append("[" + body[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end
        elif c == ".":
            out.append(".+")
        elif c == "!":
            out.append(".*")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _specificity(pattern: str) -> list[int]:
    """How many characters each position of a pattern accepts (lower: more specific)."""
    sizes: list[int] = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        c = body[i]
        if c.upper() in _CLASS:
            sizes.append({"X": 10, "Z": 9, "N": 8}[c.upper()])
        elif c == "[":
            end = body.index("]", i)
            inner = body[i + 1 : end]
            count, j = 0, 0
            while j < len(inner):
                if j + 2 < len(inner) and inner[j + 1] == "-":
                    count += abs(ord(inner[j + 2]) - ord(inner[j])) + 1
                    j += 3
                else:
                    count += 1
                    j += 1
            sizes.append(max(1, count))
            i = end
        elif c == ".":
            sizes.append(1000)
        elif c == "!":
            sizes.append(1001)
        else:
            sizes.append(1)
        i += 1
    return sizes


def match_pattern(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    return _pattern_regex(pattern).match(exten) is not None


_LINE = re.compile(r"^(exten|same)\s*=>?\s*(.*)$", re.IGNORECASE)
_PRIO = re.compile(r"^(n|\d+|hint)(?:\(([^)]*)\))?$", re.IGNORECASE)


def _strip_comment(line: str) -> str:
    out, escaped = [], False
    for ch in line:
        if ch == ";" and not escaped:
            break
        escaped = ch == "\\" and not escaped
        out.append(ch)
    return "".join(out).strip()


def parse_extensions(text: str, source: str = "extensions.conf") -> Dialplan:
    plan = Dialplan()
    context: str | None = None
    current: Extension | None = None
    last = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        where = f"{source}:{lineno}"
        if line.startswith("["):
            context = line[1 : line.index("]")].strip()
            current = None
            if context not in ("general", "globals"):
                plan.contexts.setdefault(context, [])
            continue
        if context is None:
            raise ConfigError(f"{where}: line outside any [context]")
        if context == "globals":
            key, sep, value = line.partition("=")
            if sep:
                plan.globals[key.strip()] = value.strip()
            continue
        if context == "general":
            continue
        if line.lower().startswith("include"):
            plan.includes.setdefault(context, []).append(line.split("=>", 1)[1].strip())
            continue
        m = _LINE.match(line)
        if not m:
            raise ConfigError(f"{where}: not an exten/same/include line: {raw.strip()!r}")
        kind, rest = m.group(1).lower(), m.group(2)
        if kind == "exten":
            pattern, _, rest = rest.partition(",")
            pattern = pattern.strip()
            current = next((e for e in plan.contexts[context] if e.pattern == pattern), None)
            if current is None:
                current = Extension(pattern)
                plan.contexts[context].append(current)
        elif current is None:
            raise ConfigError(f"{where}: 'same =>' before any 'exten =>'")
        prio_text, _, app_text = rest.partition(",")
        pm = _PRIO.match(prio_text.strip())
        if not pm:
            raise ConfigError(f"{where}: bad priority {prio_text.strip()!r}")
        if pm.group(1).lower() == "hint":
            continue
        number = last + 1 if pm.group(1).lower() == "n" else int(pm.group(1))
        app_text = app_text.strip()
        app, paren, data = app_text.partition("(")
        if paren and not data.endswith(")"):
            raise ConfigError(f"{where}: unbalanced parentheses in {app_text!r}")
        current.priorities[number] = Priority(number, pm.group(2), app.strip(), data[:-1] if paren else "")
        last = number
    return plan


def parse_queues(text: str, source: str = "queues.conf") -> dict[str, dict[str, str]]:
    queues: dict[str, dict[str, str]] = {}
    section: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("["):
            section = line[1 : line.index("]")].strip()
            queues.setdefault(section, {})
            continue
        if section is None:
            raise ConfigError(f"{source}:{lineno}: setting outside any [queue]")
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{source}:{lineno}: expected 'key = value', got {raw.strip()!r}")
        key = key.strip().rstrip(">").strip()
        if key == "member":
            queues[section].setdefault("member", "")
            queues[section]["member"] += ("\n" if queues[section]["member"] else "") + value.strip()
        else:
            queues[section][key] = value.strip()
    return queues


def split_args(data: str) -> list[str]:
    """Split application arguments on commas outside quotes and parentheses."""
    args: list[str] = []
    cur: list[str] = []
    depth, quoted = 0, False
    for ch in data:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0 and not quoted:
            args.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    args.append("".join(cur))
    return args


Lookup = Callable[[str], str]
Function = Callable[[str, list[str]], str]


def _find_close(text: str, start: int, opener: str, closer: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text.startswith(opener, i):
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    raise ConfigError(f"unbalanced {opener}...{closer} in {text!r}")


def substitute(text: str, lookup: Lookup, function: Function) -> str:
    """Expand ``${...}`` and ``$[...]`` the way pbx_substitute_variables does."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            end = _find_close(text, i + 1, "{", "}")
            inner = substitute(text[i + 2 : end], lookup, function)
            out.append(_expand_name(inner, lookup, function))
            i = end + 1
        elif text.startswith("$[", i):
            end = _find_close(text, i + 1, "[", "]")
            out.append(evaluate(substitute(text[i + 2 : end], lookup, function)))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expand_name(inner: str, lookup: Lookup, function: Function) -> str:
    if inner.endswith(")") and "(" in inner:
        name, _, args = inner[:-1].partition("(")
        return function(name.strip().upper(), split_args(args) if args else [])
    name, *slice_ = inner.split(":")
    value = lookup(name)
    if slice_:
        offset = int(slice_[0] or 0)
        value = value[offset:]
        if len(slice_) > 1 and slice_[1]:
            value = value[: int(slice_[1])]
    return value


_TOKEN = re.compile(r'\s*("(?:[^"]*)"|!=|<=|>=|=|<|>|&|\||\(|\)|[^\s=!<>&|()]+)')


def evaluate(expr: str) -> str:
    """A ``$[...]`` expression: comparisons give ``1``/``0``; ``&``/``|`` are logical."""
    tokens = [t for t in _TOKEN.findall(expr) if t.strip() != ""]

    def unquote(token: str) -> str:
        return token[1:-1] if len(token) >= 2 and token[0] == token[-1] == '"' else token

    def truthy(value: str) -> bool:
        return value not in ("", "0")

    pos = 0

    def atom() -> str:
        nonlocal pos
        if pos >= len(tokens):
            return ""
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = disjunction()
            pos += 1
            return value
        return unquote(tok)

    def comparison() -> str:
        nonlocal pos
        left = atom()
        while pos < len(tokens) and tokens[pos] in ("=", "!=", "<", ">", "<=", ">="):
            op = tokens[pos]
            pos += 1
            right = atom()
            try:
                a: float | str = float(left)
                b: float | str = float(right)
            except ValueError:
                a, b = left, right
            result = {
                "=": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b,  # type: ignore[operator]
            }[op]
            left = "1" if result else "0"
        return left

    def conjunction() -> str:
        nonlocal pos
        left = comparison()
        while pos < len(tokens) and tokens[pos] == "&":
            pos += 1
            right = comparison()
            left = left if truthy(left) and truthy(right) else "0"
        return left

    def disjunction() -> str:
        nonlocal pos
        left = conjunction()
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            right = conjunction()
            left = left if truthy(left) else (right if truthy(right) else "0")
        return left

    return disjunction()
