"""How to reach one Asterisk: what the engine, the campaign file and the server
settings all describe, so it lives with the protocol, below all of them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServerConfig:
    """How to reach one Asterisk over AMI."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "olive"
    secret: str = field(default="", repr=False)
    events: str = "on"  # olive needs the call, agent and dialplan classes (VarSet)


__all__ = ["ServerConfig"]
