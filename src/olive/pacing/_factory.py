"""``make_pacer``: the one place the engine gets a pacer from."""

from __future__ import annotations

from olive.pacing._agentless import AgentlessPacer
from olive.pacing._base import Pacer
from olive.pacing._config import DialMode, PacerConfig
from olive.pacing._predictive import PredictivePacer
from olive.pacing._simple import PowerPacer, PreviewPacer, ProgressivePacer


def make_pacer(mode: DialMode | str, config: PacerConfig | None = None) -> Pacer:
    """A fresh pacer for one campaign. ``mode`` is a :class:`DialMode` or its value."""
    try:
        dial_mode = mode if isinstance(mode, DialMode) else DialMode(mode)
    except ValueError:
        known = ", ".join(m.value for m in DialMode)
        raise ValueError(f"unknown dial mode {mode!r} (known: {known})") from None
    config = config or PacerConfig()
    if dial_mode is DialMode.PROGRESSIVE:
        return ProgressivePacer(config)
    if dial_mode is DialMode.POWER:
        return PowerPacer(config)
    if dial_mode is DialMode.AGENTLESS:
        return AgentlessPacer(config)
    if dial_mode is DialMode.PREVIEW:
        return PreviewPacer(config)
    return PredictivePacer(config)
