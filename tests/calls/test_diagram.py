from pathlib import Path

from olive.calls._diagram import mermaid

DOC = Path(__file__).resolve().parents[2] / "docs" / "calls.md"


def test_docs_diagram_is_drawn_from_the_table() -> None:
    text = DOC.read_text()
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == mermaid()
