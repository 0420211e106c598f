"""Drawing the call-state table as a Mermaid diagram for docs/calls.md."""

from __future__ import annotations

from olive.calls._model import CallState
from olive.calls._table import TRANSITIONS


def mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {CallState.ORIGINATING.name}"]
    for state, row in TRANSITIONS.items():
        targets: dict[CallState, list[str]] = {}
        for signal, target in row.items():
            if target is not state:
                targets.setdefault(target, []).append(signal.value)
        for target, signals in targets.items():
            lines.append(f"    {state.name} --> {target.name}: {', '.join(signals)}")
    lines.append(f"    {CallState.ENDED.name} --> [*]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
