"""MkDocs hook: the API reference page, generated from olive's OpenAPI schema at build time."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

REFERENCE = "reference/rest-api.md"


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, REFERENCE, content=api_reference()))
    return files


def api_reference() -> str:
    from olive.api import create_app
    from olive.engine import Engine
    from olive.store import make_engine, make_sessionmaker

    sessions = make_sessionmaker(make_engine("sqlite://"))
    schema: dict[str, Any] = create_app(sessions, Engine(sessions, {})).openapi()
    lines = [
        "# REST API reference",
        "",
        "Generated from the OpenAPI schema olive serves at `/openapi.json` (interactive at `/docs`). "
        "How to use the API, with examples: [api.md](../api.md).",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, operation))
    for tag, operations in by_tag.items():
        lines += [f"## {tag}", ""]
        for method, path, operation in operations:
            lines += [f"### `{method} {path}`", "", f"**{operation.get('summary', '')}**", ""]
            if operation.get("description"):
                lines += [operation["description"], ""]
            parameters = operation.get("parameters") or []
            if parameters:
                lines += ["| parameter | in | required | description |", "|---|---|---|---|"]
                for p in parameters:
                    text = (p.get("description") or p.get("schema", {}).get("description") or "").replace("|", "\\|")
                    text = " ".join(text.split())
                    lines.append(f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | {text} |")
                lines.append("")
            body = operation.get("requestBody", {}).get("content", {})
            if body:
                lines += [f"Request body: {', '.join(f'`{t}`' for t in body)}" + _ref(body), ""]
            answers = ", ".join(f"`{code}`" for code in operation.get("responses", {}))
            lines += [f"Responses: {answers}", ""]
    lines += ["## Schemas", ""]
    for name, model in schema.get("components", {}).get("schemas", {}).items():
        lines += [f"### {name}", ""]
        if model.get("description"):
            lines += [" ".join(model["description"].split()), ""]
        properties = model.get("properties") or {}
        if properties:
            required = set(model.get("required") or [])
            lines += ["| field | required | description |", "|---|---|---|"]
            for field, spec in properties.items():
                text = " ".join((spec.get("description") or spec.get("title") or "").split()).replace("|", "\\|")
                lines.append(f"| `{field}` | {'yes' if field in required else 'no'} | {text} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def _ref(content: dict[str, Any]) -> str:
    for media in content.values():
        ref = media.get("schema", {}).get("$ref", "")
        if ref:
            return f" ([{ref.rsplit('/', 1)[-1]}](#{ref.rsplit('/', 1)[-1].lower()}))"
    return ""
