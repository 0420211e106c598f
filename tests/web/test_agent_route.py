"""GET /agent and its files over HTTP: served without a session, locked down, holding no secret."""

from __future__ import annotations

import re

import httpx
from tests.api.conftest import Keys, LiveApi
from tests.api.helpers import error

from olive.api._pages import AGENT_ASSETS, ASSETS

from .test_route import KEY_LIKE, _Links


def _page(anon: httpx.Client) -> str:
    response = anon.get("/agent")
    assert response.status_code == 200, response.text
    return response.text


def test_served_without_a_session_and_locked_down(anon: httpx.Client) -> None:
    response = anon.get("/agent")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>olive agent</title>" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY" and response.headers["referrer-policy"] == "no-referrer"


def test_loads_only_olives_own_files_and_all_are_served(anon: httpx.Client) -> None:
    links = _Links()
    links.feed(_page(anon))
    assert links.inline_scripts == 0 and links.urls
    for url in links.urls:
        assert url.startswith(("/agent/static/", "/dashboard/static/")), url
        response = anon.get(url)
        assert response.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert response.headers["content-type"] == f"{kind}; charset=utf-8", url


def test_every_module_a_script_imports_is_served(anon: httpx.Client) -> None:
    for name in (n for n in AGENT_ASSETS if n.endswith(".js")):
        source = anon.get(f"/agent/static/{name}").text
        for prefix, imported in re.findall(r'from "/(agent|dashboard)/static/([^"]+)"', source):
            assert imported in (AGENT_ASSETS if prefix == "agent" else ASSETS), f"{name} imports {imported}"
        assert not re.findall(r'from "\./', source), "absolute imports: the page lives at /agent"


def test_no_secrets_and_other_names_404(anon: httpx.Client, keys: Keys) -> None:
    for body in [_page(anon)] + [anon.get(f"/agent/static/{name}").text for name in AGENT_ASSETS]:
        assert keys.admin not in body and KEY_LIKE.search(body) is None and "secret" not in body.lower()
    for name in ("nope.js", "agent.html", "..%2f_agent.py", "dashboard.css"):
        error(anon.get(f"/agent/static/{name}"), 404, "not_found")


def test_not_in_the_api_schema(live_api: LiveApi) -> None:
    paths = live_api.app.openapi()["paths"]
    assert "/agent" not in paths and not [p for p in paths if p.startswith("/agent/static")]
