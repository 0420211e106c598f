"""``olive serve``: settings from flags, environment and file; the real command on loopback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from cli_helpers import OLIVE, taken_port
from olive.ami import ServerConfig
from olive.api._config import ConfigError, load_settings
from olive.store import create_api_key, transaction

from .conftest import closed_port, serve


class TestSettings:
    def test_defaults(self) -> None:
        settings = load_settings(environ={})
        assert (settings.host, settings.port, settings.database_url) == ("127.0.0.1", 8080, "sqlite:///olive.db")
        assert settings.asterisk == {}

    def test_file_then_environment_then_flags(self, tmp_path: Path) -> None:
        config = tmp_path / "olive.toml"
        config.write_text(
            '[server]\nhost = "0.0.0.0"\nport = 9000\n[database]\nurl = "sqlite:///file.db"\n'
            '[asterisk.east]\nhost = "10.0.0.5"\nusername = "dialer"\nsecret_env = "EAST_SECRET"\n'
        )
        env = {"OLIVE_CONFIG": str(config), "EAST_SECRET": "s3cret"}
        from_file = load_settings(environ=env)
        assert (from_file.host, from_file.port, from_file.database_url) == ("0.0.0.0", 9000, "sqlite:///file.db")
        assert from_file.asterisk == {"east": ServerConfig("10.0.0.5", 5038, "dialer", "s3cret")}
        env |= {"OLIVE_PORT": "9100", "OLIVE_DATABASE_URL": "sqlite:///env.db", "OLIVE_HOST": "127.0.0.2"}
        from_env = load_settings(environ=env)
        assert (from_env.host, from_env.port, from_env.database_url) == ("127.0.0.2", 9100, "sqlite:///env.db")
        flags = load_settings(environ=env, host="::1", port=9200, database_url="sqlite:///flag.db")
        assert (flags.host, flags.port, flags.database_url) == ("::1", 9200, "sqlite:///flag.db")

    def test_pausing_agents_for_missed_rings(self, tmp_path: Path) -> None:
        assert load_settings(environ={}).pause_after_missed == 2
        config = tmp_path / "olive.toml"
        config.write_text("[agents]\npause_after_missed = 3\n")
        assert load_settings(environ={"OLIVE_CONFIG": str(config)}).pause_after_missed == 3
        never = load_settings(environ={"OLIVE_CONFIG": str(config), "OLIVE_PAUSE_AFTER_MISSED": "0"})
        assert never.pause_after_missed == 0 and "agents   never paused for missed rings" in never.describe()
        config.write_text("[agents]\npause_after_missed = -2\n")
        with pytest.raises(ConfigError, match=r"agents\.pause_after_missed"):
            load_settings(config=config, environ={})

    def test_the_guides_example_file_loads(self, tmp_path: Path) -> None:
        guide = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
        example = guide.split("A file:\n\n```toml\n", 1)[1].split("```", 1)[0]
        config = tmp_path / "olive.toml"
        config.write_text(example)
        settings = load_settings(config=config, environ={"OLIVE_AMI_SECRET": "x"})
        assert (settings.port, settings.pause_after_missed) == (8080, 2)
        assert settings.asterisk["default"].host == "10.0.0.5"

    def test_asterisk_urls(self) -> None:
        env = {"OLIVE_ASTERISK": "ami://olive:pa%3Ass@pbx1:5039/east, ami://dialer@pbx2?secret_env=S2", "S2": "two"}
        settings = load_settings(environ=env)
        assert settings.asterisk == {
            "east": ServerConfig("pbx1", 5039, "olive", "pa:ss"),
            "default": ServerConfig("pbx2", 5038, "dialer", "two"),
        }
        flagged = load_settings(environ=env, asterisk=["ami://x:y@pbx3"])
        assert list(flagged.asterisk) == ["default"] and flagged.asterisk["default"].host == "pbx3"

    @pytest.mark.parametrize(
        ("kwargs", "env", "words"),
        [
            ({"asterisk": ["http://pbx"]}, {}, "ami://"),
            ({"asterisk": ["ami://u@pbx"]}, {}, "secret"),
            ({"asterisk": ["ami://u@pbx?secret_env=NOPE"]}, {}, "NOPE is not set"),
            ({"asterisk": ["ami://u:p@a/x", "ami://u:p@b/x"]}, {}, "own name"),
            ({"asterisk": ["ami://u:p@a:99999"]}, {}, "port"),
            ({}, {"OLIVE_PORT": "eighty"}, "OLIVE_PORT"),
            ({}, {"OLIVE_PAUSE_AFTER_MISSED": "-1"}, "OLIVE_PAUSE_AFTER_MISSED must be a whole number"),
            ({"config": "/nonexistent/olive.toml"}, {}, "no such file"),
            # issue 13: these crashed `olive serve` with a traceback.
            ({"asterisk": ["ami://u:p@[::1"]}, {}, "ami://"),
            ({}, {"OLIVE_PORT": "\u00b2"}, "OLIVE_PORT"),
            ({"database_url": "olive.db"}, {}, "not a database URL"),
            ({"database_url": "mysql://olive:dbpass@db/olive"}, {}, "no driver for mysql"),
            ({}, {"OLIVE_DATABASE_URL": "postgres:/x:y"}, "OLIVE_DATABASE_URL"),
            ({"asterisk": ["ami://olive:a%0Ab@pbx"]}, {}, "secret holds a line break"),
            ({"asterisk": ["ami://ol%0Dive:x@pbx"]}, {}, "user holds a line break"),
            ({"asterisk": ["ami://olive@pbx?secret_env=S"]}, {"S": "a\nb"}, "secret holds a line break"),
        ],
    )
    def test_errors_name_the_setting(self, kwargs: dict[str, object], env: dict[str, str], words: str) -> None:
        with pytest.raises(ConfigError, match=words):
            load_settings(environ=env, **kwargs)  # type: ignore[arg-type]

    def test_file_errors(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.toml"
        bad.write_text("[server\n")
        with pytest.raises(ConfigError, match="not valid TOML"):
            load_settings(config=bad, environ={})
        bad.write_text('[server]\nport = "x"\n[extra]\n')
        with pytest.raises(ConfigError, match=r"server\.port.*extra"):
            load_settings(config=bad, environ={})

    def test_a_secret_from_the_environment_with_a_line_break(self, tmp_path: Path) -> None:
        config = tmp_path / "olive.toml"
        config.write_text('[asterisk.default]\nhost = "pbx"\nsecret_env = "S"\n')
        with pytest.raises(ConfigError, match="S holds a line break") as refused:
            load_settings(config=config, environ={"S": "top\nsecret"})
        assert "top" not in str(refused.value)

    def test_describe_never_shows_secrets(self) -> None:
        settings = load_settings(
            environ={}, database_url="postgresql+psycopg://olive:dbpass@db/olive", asterisk=["ami://olive:amipass@pbx/east"]
        )
        text = "\n".join(settings.describe())
        assert "dbpass" not in text and "amipass" not in text
        assert "olive@pbx:5038" in text and "db/olive" in text


@pytest.fixture(scope="module")
def db_backend() -> str:
    return "sqlite"


class TestServeCommand:
    def test_serves_until_interrupted(self, db_url: str) -> None:
        secret = "ami-secret-do-not-print"
        served = serve(
            db_url,
            "--asterisk",
            f"ami://olive@127.0.0.1:{closed_port()}/default?secret_env=TEST_AMI_SECRET",
            env={"TEST_AMI_SECRET": secret},
        )
        try:
            with transaction(served.sessions) as session:
                _, key = create_api_key(session, "serve test", "viewer")
            with served.client() as anon:
                ready = anon.get("/ready").json()
                assert ready["status"] == "ready" and ready["asterisk"] == {"default": ready["asterisk"]["default"]}
                assert anon.get("/plans").status_code == 401
            with served.client(key) as viewer:
                assert viewer.get("/plans").json()["total"] == 0
        finally:
            status = served.stop()
        output = "".join(served.output)
        assert status in (0, 130), output  # uvicorn re-raises the SIGINT it handled: 130, as Ctrl-C
        assert "olive serve: asterisk default: olive@127.0.0.1:" in output
        assert secret not in output and key not in output
        assert "Application shutdown complete" in output

    def test_a_second_serve_on_the_same_database_refuses_to_start(self, db_url: str) -> None:
        """One database, one dialing node (issue 10): the second says who dials, and exits 3."""
        first = serve(db_url, env={"OLIVE_NODE": "node-a"})
        try:
            done = subprocess.run(
                [*OLIVE, "serve", "--host", "127.0.0.1", "--port", "0", "--database-url", db_url],
                capture_output=True, text=True, timeout=60, env={**os.environ, "OLIVE_NODE": "node-b"},
            )
            assert done.returncode == 3, done.stderr
            assert "refusing to start: node node-a holds the dialing lease" in done.stderr
            assert "Traceback" not in done.stderr + done.stdout
            with first.client() as anon:
                ready = anon.get("/ready").json()
            assert ready["status"] == "ready" and ready["dialing_lease"] == "held by node-a"
        finally:
            assert first.stop() in (0, 130)
        second = serve(db_url, env={"OLIVE_NODE": "node-b"})  # the first released it on its way out
        assert second.stop() in (0, 130)

    def test_refuses_bad_settings(self, db_url: str) -> None:
        with pytest.raises(RuntimeError, match="secret"):
            serve(db_url, "--asterisk", "ami://olive@127.0.0.1/default")

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["--asterisk", "ami://olive:x@[::1"], "ami://USER"),
            (["--database-url", "nonsense"], "not a database URL"),
            (["--log-level", "loud"], "--log-level"),
        ],
    )
    def test_bad_configuration_is_refused_without_a_traceback(self, args: list[str], words: str) -> None:
        done = subprocess.run([*OLIVE, "serve", "--port", "0", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert words in done.stderr and "Traceback" not in done.stderr + done.stdout

    def test_unreachable_database(self, tmp_path: Path) -> None:
        with pytest.raises(RuntimeError, match="cannot use the database"):
            serve(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")

    def test_a_taken_port_is_refused_before_anything_starts(self, db_url: str, tmp_path: Path) -> None:
        with taken_port() as port:
            done = subprocess.run(
                [*OLIVE, "serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", db_url],
                capture_output=True, text=True, timeout=60,
            )
        assert done.returncode == 2
        assert f"olive serve: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
        assert "Traceback" not in done.stderr + done.stdout


def test_httpx_is_what_clients_use() -> None:
    assert httpx.__version__
