"""``olive serve``'s node name and server pool: several Asterisk servers with limits (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from olive.ami import ServerConfig
from olive.api._config import ConfigError, load_settings
from olive.store import LeaseRepository, ServerLimits, servers, transaction

from .conftest import closed_port, serve

POOL = """
[node]
name = "dialer-1"

[asterisk.east]
host = "pbx1"
secret = "one"
max_channels = 200
max_cps = 20

[asterisk.west]
host = "pbx2"
secret_env = "S2"
"""


class TestPoolSettings:
    def test_a_file_names_the_node_and_each_servers_limits(self, tmp_path: Path) -> None:
        config = tmp_path / "olive.toml"
        config.write_text(POOL)
        settings = load_settings(config=config, environ={"S2": "two"})
        assert settings.node == "dialer-1"
        assert settings.asterisk == {
            "east": ServerConfig("pbx1", 5038, "olive", "one"),
            "west": ServerConfig("pbx2", 5038, "olive", "two"),
        }
        assert settings.limits == {"east": ServerLimits(max_channels=200, max_cps=20.0)}, "west has none"
        lines = settings.describe()
        assert "node     dialer-1" in lines
        assert "asterisk east: olive@pbx1:5038 (max 200, cps 20)" in lines
        assert "asterisk west: olive@pbx2:5038" in lines

    def test_limits_in_ami_urls(self) -> None:
        settings = load_settings(
            environ={"OLIVE_ASTERISK": "ami://o:p@pbx1/east?max_channels=50&max_cps=2.5, ami://o:p@pbx2/west"}
        )
        assert settings.limits == {"east": ServerLimits(50, 2.5)}
        assert set(settings.asterisk) == {"east", "west"}

    def test_the_node_name_from_the_flag_then_the_environment_then_the_file(self, tmp_path: Path) -> None:
        config = tmp_path / "olive.toml"
        config.write_text('[node]\nname = "from-file"\n')
        assert load_settings(config=config, environ={}).node == "from-file"
        assert load_settings(config=config, environ={"OLIVE_NODE": "from-env"}).node == "from-env"
        assert load_settings(config=config, environ={"OLIVE_NODE": "from-env"}, node="from-flag").node == "from-flag"
        assert load_settings(environ={}).node is None, "unset: host:pid, as before"

    @pytest.mark.parametrize(
        ("kwargs", "env", "words"),
        [
            ({"node": "two words"}, {}, "--node: a node name is 1 to 200 letters"),
            ({}, {"OLIVE_NODE": "a\nb"}, "OLIVE_NODE: a node name"),
            ({"node": "x" * 201}, {}, "a node name is 1 to 200"),
            ({"asterisk": ["ami://o:p@pbx/east?max_channels=0"]}, {}, "east: max_channels must be a whole number from 1"),
            ({"asterisk": ["ami://o:p@pbx/east?max_channels=1.5"]}, {}, "max_channels must be a whole number"),
            ({"asterisk": ["ami://o:p@pbx/east?max_channels=100001"]}, {}, "up to 100000"),
            ({"asterisk": ["ami://o:p@pbx/east?max_cps=fast"]}, {}, "max_cps must be a number above 0"),
            ({"asterisk": ["ami://o:p@pbx/east?max_cps=nan"]}, {}, "max_cps must be a number above 0"),
            ({"asterisk": ["ami://o:p@pbx/east?max_cps=-1"]}, {}, "max_cps must be a number above 0"),
            ({"asterisk": ["ami://o:p@pbx/east?max_chanels=5"]}, {}, "unknown setting 'max_chanels'"),
            ({"asterisk": ["ami://o:p@pbx/" + "e" * 81]}, {}, "a server name is 1 to 80"),
            ({"asterisk": ["ami://o:p@pbx/a%20b"]}, {}, "a server name is 1 to 80 letters"),
        ],
    )
    def test_bad_pool_settings_are_refused_naming_them(self, kwargs: dict[str, object], env: dict[str, str], words: str) -> None:
        with pytest.raises(ConfigError, match=words):
            load_settings(environ=env, **kwargs)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ('[asterisk.east]\nsecret = "x"\nmax_channels = 0\n', r"asterisk\.east\.max_channels: Input should be greater than or equal to 1"),
            ('[asterisk.east]\nsecret = "x"\nmax_cps = 0\n', r"asterisk\.east\.max_cps: Input should be greater than 0"),
            ('[asterisk.east]\nsecret = "x"\nmax_cps = nan\n', r"asterisk\.east\.max_cps"),
            ('[asterisk."a b"]\nsecret = "x"\n', r"\[asterisk\.a b\]: a server name is 1 to 80"),
            ('[node]\nname = "a b"\n', r"node\.name: a node name is 1 to 200"),
            ('[node]\nnmae = "a"\n', r"node\.nmae: Extra inputs are not permitted"),
        ],
    )
    def test_bad_pool_files_are_refused_naming_the_setting(self, tmp_path: Path, text: str, words: str) -> None:
        config = tmp_path / "olive.toml"
        config.write_text(text)
        with pytest.raises(ConfigError, match=words):
            load_settings(config=config, environ={})


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


def test_serve_holds_the_lease_under_its_node_name_and_writes_the_pool(db_url: str) -> None:
    down = closed_port()
    served = serve(
        db_url, "--node", "dialer-7",
        "--asterisk", f"ami://o:p@127.0.0.1:{down}/east?max_channels=30&max_cps=3",
        "--asterisk", f"ami://o:p@127.0.0.1:{down}/west",
    )
    try:
        with transaction(served.sessions) as session:
            holder = LeaseRepository(session).holder()
            pool = {s.name: (s.max_channels, s.max_cps) for s in servers(session)}
    finally:
        assert served.stop() in (0, 130)
    assert holder is not None and holder.node == "dialer-7"
    assert pool == {"east": (30, 3.0), "west": (None, None)}
    assert "olive serve: node     dialer-7" in "".join(served.output)
