"""``olive serve``'s settings: flags, then environment, then a TOML file, then defaults.

    [server]
    host = "127.0.0.1"
    port = 8080

    [database]
    url = "postgresql+psycopg://olive@db.example/olive"

    [agents]
    pause_after_missed = 2      # rings let time out in a row before olive pauses the agent (0: never)

    [node]
    name = "dialer-1"           # this olive among several on one database (default: host:pid)

    [asterisk.default]          # one table per Asterisk server; campaigns name it
    host = "127.0.0.1"
    port = 5038
    username = "olive"
    secret_env = "OLIVE_AMI_SECRET"   # or: secret = "..."
    max_channels = 200          # optional: calls olive may have in progress there
    max_cps = 20                # optional: Originates per second

Environment: ``OLIVE_CONFIG`` (the file), ``OLIVE_HOST``, ``OLIVE_PORT``,
``OLIVE_DATABASE_URL``, ``OLIVE_ASTERISK`` (AMI URLs, separated by commas),
``OLIVE_PAUSE_AFTER_MISSED``, ``OLIVE_NODE``.
An AMI URL is ``ami://USER[:SECRET]@HOST[:PORT][/NAME][?secret_env=VAR&max_channels=N&max_cps=N]``;
NAME defaults to ``default``. Secrets are never printed: :meth:`ServeSettings.describe`
shows where things are, not how to get in.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from olive.ami import ServerConfig
from olive.campaign_file import AsteriskSpec
from olive.store import DEFAULT_DATABASE_URL, ServerLimits, safe_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_PAUSE_AFTER_MISSED = 2
#: Node and server names: what the nodes, servers and units tables and the logs show.
NODE_NAME = re.compile(r"[A-Za-z0-9_.:@\-]{1,200}")
SERVER_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,80}")
MAX_CHANNELS = 100_000
MAX_CPS = 10_000.0


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the setting (never a secret)."""


class _ServerSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)


class _DatabaseSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None


class _AgentsSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pause_after_missed: int | None = Field(default=None, ge=0, le=100)


class _NodeSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None


class _PoolServerSpec(AsteriskSpec):
    """An Asterisk of ``olive serve``'s pool: how to reach it, and its limits (docs/scale-out.md)."""

    max_channels: int | None = Field(default=None, ge=1, le=MAX_CHANNELS)
    max_cps: float | None = Field(default=None, gt=0, le=MAX_CPS, allow_inf_nan=False)


class _ConfigFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    server: _ServerSection = Field(default_factory=_ServerSection)
    database: _DatabaseSection = Field(default_factory=_DatabaseSection)
    agents: _AgentsSection = Field(default_factory=_AgentsSection)
    node: _NodeSection = Field(default_factory=_NodeSection)
    asterisk: dict[str, _PoolServerSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class ServeSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str = DEFAULT_DATABASE_URL
    asterisk: Mapping[str, ServerConfig] = field(default_factory=dict)
    pause_after_missed: int = DEFAULT_PAUSE_AFTER_MISSED
    node: str | None = None  # None: host:pid (olive.engine.default_node_name)
    limits: Mapping[str, ServerLimits] = field(default_factory=dict)  # each server's, when set

    def describe(self) -> list[str]:
        """What the server will use, for the start-up message: no secrets."""
        where = f"http://{self.host}:{self.port}" if self.port else f"http://{self.host} on a free port"
        lines = [f"API      {where} (docs at /docs)", f"database {safe_url(self.database_url)}"]
        if not self.asterisk:
            lines.append("asterisk none configured: campaigns cannot start (see docs/api.md)")
        if self.node is not None:
            lines.append(f"node     {self.node}")
        for name, server in sorted(self.asterisk.items()):
            limits = self.limits.get(name, ServerLimits())
            bounds = [
                f"{what} {value:g}"
                for what, value in (("max", limits.max_channels), ("cps", limits.max_cps))
                if value is not None
            ]
            lines.append(
                f"asterisk {name}: {server.username}@{server.host}:{server.port}"
                + (f" ({', '.join(bounds)})" if bounds else "")
            )
        if self.pause_after_missed:
            lines.append(f"agents   paused after {self.pause_after_missed} missed rings in a row")
        else:
            lines.append("agents   never paused for missed rings")
        return lines


def load_settings(
    *,
    config: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    database_url: str | None = None,
    asterisk: Sequence[str] = (),
    node: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServeSettings:
    """Resolve settings: arguments (flags) win over the environment, which wins over the file."""
    env = os.environ if environ is None else environ
    path = config or env.get("OLIVE_CONFIG") or None
    file = _read(Path(path)) if path else _ConfigFile()
    resolved_port = port if port is not None else _env_port(env) if env.get("OLIVE_PORT") else file.server.port
    urls = list(asterisk) or _split(env.get("OLIVE_ASTERISK", ""))
    pool = _from_urls(urls, env) if urls else _from_file(file.asterisk, env)
    servers = {name: server for name, (server, _) in pool.items()}
    limits = {name: bounds for name, (_, bounds) in pool.items() if bounds != ServerLimits()}
    url, source = next(
        (u, where)
        for u, where in [
            (database_url, "--database-url"),
            (env.get("OLIVE_DATABASE_URL"), "OLIVE_DATABASE_URL"),
            (file.database.url, f"{path}: database.url"),
            (DEFAULT_DATABASE_URL, "default"),
        ]
        if u
    )
    return ServeSettings(
        host=host or env.get("OLIVE_HOST") or file.server.host or DEFAULT_HOST,
        port=DEFAULT_PORT if resolved_port is None else resolved_port,
        database_url=_database_url(url, source),
        asterisk=servers,
        pause_after_missed=_pause_after_missed(env, file),
        node=_node_name(node, env, file, path),
        limits=limits,
    )


def _node_name(flag: str | None, env: Mapping[str, str], file: _ConfigFile, path: object) -> str | None:
    for name, source in ((flag, "--node"), (env.get("OLIVE_NODE"), "OLIVE_NODE"), (file.node.name, f"{path}: node.name")):
        if name is None:
            continue
        if not NODE_NAME.fullmatch(name):
            raise ConfigError(
                f"{source}: a node name is 1 to 200 letters, digits and _ . : @ -, got {name[:40]!r}"
            )
        return name
    return None


def _server_name(name: str, source: str) -> str:
    if not SERVER_NAME.fullmatch(name):
        raise ConfigError(f"{source}: a server name is 1 to 80 letters, digits and _ . -, got {name[:40]!r}")
    return name


def _database_url(url: str, source: str) -> str:
    """``url`` when SQLAlchemy can use it; the error never echoes it (it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"{source}: not a database URL; use e.g. sqlite:///olive.db or postgresql+psycopg://olive@HOST/olive"
        ) from None
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise ConfigError(
            f"{source}: no driver for {parsed.drivername}; olive uses sqlite or postgresql+psycopg"
        ) from None
    return url


def _pause_after_missed(env: Mapping[str, str], file: _ConfigFile) -> int:
    text = env.get("OLIVE_PAUSE_AFTER_MISSED")
    if text is not None:
        if not (text.isascii() and text.isdigit()) or int(text) > 100:
            raise ConfigError(f"OLIVE_PAUSE_AFTER_MISSED must be a whole number from 0 to 100, got {text!r}")
        return int(text)
    configured = file.agents.pause_after_missed
    return DEFAULT_PAUSE_AFTER_MISSED if configured is None else configured


def _read(path: Path) -> _ConfigFile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _ConfigFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


def _env_port(env: Mapping[str, str]) -> int:
    text = env.get("OLIVE_PORT", "")
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 65535:
        raise ConfigError(f"OLIVE_PORT must be a port number, got {text!r}")
    return int(text)


def _split(text: str) -> list[str]:
    return [part for part in (p.strip() for p in text.replace(" ", ",").split(",")) if part]


def _from_file(
    specs: Mapping[str, _PoolServerSpec], env: Mapping[str, str]
) -> dict[str, tuple[ServerConfig, ServerLimits]]:
    out = {}
    for name, spec in specs.items():
        _server_name(name, f"[asterisk.{name[:40]}]")
        secret = spec.secret
        if secret is None and spec.secret_env is not None:
            secret = env.get(spec.secret_env)
            if secret is None:
                raise ConfigError(f"asterisk.{name}.secret_env: environment variable {spec.secret_env} is not set")
        if any(ord(c) < 32 or ord(c) == 127 for c in secret or ""):
            raise ConfigError(f"asterisk.{name}.secret_env: {spec.secret_env} holds a line break or control character")
        out[name] = (
            ServerConfig(spec.host, spec.port, spec.username, secret or ""),
            ServerLimits(spec.max_channels, spec.max_cps),
        )
    return out


def _from_urls(urls: Sequence[str], env: Mapping[str, str]) -> dict[str, tuple[ServerConfig, ServerLimits]]:
    out: list[tuple[str, tuple[ServerConfig, ServerLimits]]] = []
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:  # an unclosed [IPv6 address
            parts = urlsplit("")
        if parts.scheme != "ami" or not parts.hostname:
            raise ConfigError("an Asterisk server is ami://USER[:SECRET]@HOST[:PORT][/NAME][?secret_env=VAR]")
        try:
            port = parts.port or 5038
        except ValueError:
            raise ConfigError(f"Asterisk server {parts.hostname}: bad port") from None
        name = _server_name(unquote(parts.path.strip("/")) or "default", f"Asterisk server ami://…@{parts.hostname}")
        secret = unquote(parts.password) if parts.password else None
        query = parse_qs(parts.query)
        if unknown := sorted(set(query) - {"secret_env", "max_channels", "max_cps"}):
            raise ConfigError(f"Asterisk server {name}: unknown setting {unknown[0]!r} (secret_env, max_channels, max_cps)")
        limits = ServerLimits(
            max_channels=_limit(query, "max_channels", name, int), max_cps=_limit(query, "max_cps", name, float)
        )
        if secret is None and "secret_env" in query:
            variable = query["secret_env"][0]
            secret = env.get(variable)
            if secret is None:
                raise ConfigError(f"Asterisk server {name}: environment variable {variable} is not set")
        if secret is None:
            raise ConfigError(f"Asterisk server {name}: give a secret, or ?secret_env=VARIABLE")
        username = unquote(parts.username or "olive")
        for what, value in (("user", username), ("secret", secret)):
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                # It would end up in an AMI message; never echo a secret.
                raise ConfigError(f"Asterisk server {name}: the {what} holds a line break or control character")
        out.append((name, (ServerConfig(parts.hostname, port, username, secret), limits)))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ConfigError("each Asterisk server needs its own name (ami://...@host/NAME)")
    return dict(out)


def _limit(query: Mapping[str, list[str]], what: str, server: str, kind: type[int] | type[float]) -> Any:
    """``max_channels`` (a whole number, 1 to 100000) or ``max_cps`` (above 0, up to 10000) from a URL."""
    if what not in query:
        return None
    text = query[what][0]
    top = MAX_CHANNELS if kind is int else MAX_CPS
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not 0 < value <= top:
        shape = "a whole number from 1" if kind is int else "a number above 0 and"
        raise ConfigError(f"Asterisk server {server}: {what} must be {shape} up to {top:g}, got {text[:20]!r}")
    return value


def config_template() -> dict[str, Any]:
    """The file's sections, for docs and tests."""
    return _ConfigFile().model_dump()


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ConfigError", "ServeSettings", "config_template", "load_settings"]
