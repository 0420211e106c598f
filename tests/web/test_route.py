"""GET /dashboard and its files over HTTP: served without a key, typed, and holding no secret."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources

import httpx
import pytest
from tests.api.conftest import Keys, LiveApi
from tests.api.helpers import error, ok

from olive.api._pages import AGENT_ASSETS, ASSETS

KEY_LIKE = re.compile(r"olive_[A-Za-z0-9_\-]{8,}")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        for name in ("src", "href"):
            url = values.get(name)
            if url and url.startswith("/"):
                self.urls.append(url)


def _page(anon: httpx.Client) -> str:
    response = anon.get("/dashboard")
    assert response.status_code == 200, response.text
    return response.text


class TestPage:
    def test_served_without_a_key(self, anon: httpx.Client) -> None:
        response = anon.get("/dashboard")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>olive dashboard</title>" in response.text

    def test_locked_down_headers(self, anon: httpx.Client) -> None:
        headers = anon.get("/dashboard").headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"

    def test_no_inline_script_and_only_own_files(self, anon: httpx.Client) -> None:
        links = _Links()
        links.feed(_page(anon))
        assert links.inline_scripts == 0
        assert links.urls, "the page loads its stylesheet and script"
        for url in links.urls:
            assert url.startswith("/dashboard/static/"), url

    def test_no_secrets_in_the_page_or_its_files(self, anon: httpx.Client, keys: Keys) -> None:
        bodies = [_page(anon)] + [anon.get(f"/dashboard/static/{name}").text for name in ASSETS]
        for body in bodies:
            assert keys.admin not in body and keys.viewer not in body
            assert KEY_LIKE.search(body) is None
            assert "secret" not in body.lower()

    def test_not_in_the_api_schema(self, live_api: LiveApi) -> None:
        assert not [path for path in live_api.app.openapi()["paths"] if path.startswith("/dashboard")]


class TestFiles:
    def test_every_file_the_page_loads_is_served_with_its_type(self, anon: httpx.Client) -> None:
        links = _Links()
        links.feed(_page(anon))
        for url in links.urls:
            response = anon.get(url)
            assert response.status_code == 200, url
            kind = "text/css" if url.endswith(".css") else "text/javascript"
            assert response.headers["content-type"] == f"{kind}; charset=utf-8", url
            assert response.headers["x-content-type-options"] == "nosniff"

    def test_every_module_a_script_imports_is_served(self, anon: httpx.Client) -> None:
        for name in (n for n in ASSETS if n.endswith(".js")):
            source = anon.get(f"/dashboard/static/{name}").text
            for imported in re.findall(r'from "\./([^"]+)"', source):
                assert imported in ASSETS, f"{name} imports {imported}, which is not served"

    def test_the_package_ships_exactly_the_served_files(self) -> None:
        shipped = {p.name for p in (resources.files("olive.api") / "static").iterdir() if p.is_file()}
        assert shipped == {*ASSETS, "dashboard.html", *AGENT_ASSETS, "agent.html"}  # the agent page: test_agent_route.py

    @pytest.mark.parametrize("name", ["nope.js", "dashboard.html", "..%2f_routes.py", "%2e%2e%2f__init__.py"])
    def test_other_names_are_404(self, anon: httpx.Client, name: str) -> None:
        error(anon.get(f"/dashboard/static/{name}"), 404, "not_found")

    def test_a_traversal_does_not_reach_the_source(self, anon: httpx.Client) -> None:
        response = anon.get("/dashboard/static/../_routes.py")
        assert "import" not in response.text


class TestWhoAmI:
    def test_needs_a_key(self, anon: httpx.Client) -> None:
        error(anon.get("/dashboard/whoami"), 401, "unauthorized")
        error(anon.get("/dashboard/whoami", headers={"Authorization": "Bearer olive_wrongwrongwrong"}), 401)

    def test_tells_the_role_never_the_key(self, admin: httpx.Client, viewer: httpx.Client, keys: Keys) -> None:
        assert ok(viewer.get("/dashboard/whoami")) == {"name": "test viewer", "role": "viewer"}
        response = admin.get("/dashboard/whoami")
        assert ok(response) == {"name": "test admin", "role": "admin"}
        assert keys.admin not in response.text
