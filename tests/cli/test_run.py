"""`olive run FILE` and `olive calls`, as a user runs them: real processes, a simulated
Asterisk over TCP, an SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cli_helpers import OLIVE

HERE = Path(__file__).parent


def olive(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OLIVE, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


@pytest.fixture(scope="module")
def pbx_port() -> Iterator[int]:
    proc = subprocess.Popen(
        [*OLIVE, "sim", "--scenario", str(HERE / "fast.toml"), "--port", "0", "--secret", "s3cret"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"127\.0\.0\.1:(\d+)", line)
    assert match, line
    yield int(match.group(1))
    proc.terminate()
    proc.wait(10)


def campaign_file(tmp: Path, port: int, *, name: str, numbers: list[str], extra: str = "") -> Path:
    (tmp / "contacts.csv").write_text("phone,name,policy\n" + "".join(f"{n},C{i},P-{i}\n" for i, n in enumerate(numbers)))
    path = tmp / "campaign.toml"
    path.write_text(f"""
[asterisk]
port = {port}
secret_env = "TEST_AMI_SECRET"

[campaign]
name = "{name}"
queue = "olive-fast"
compliance_profile = "none"
schedule = {{ start = "00:00", end = "24:00" }}

[plan]
dial_timeout_s = 2
channel_template = "PJSIP/{{number}}@trunk"
{extra}
[plan.retry_rules.BUSY]
max_attempts = 2
delay_s = 1

[plan.retry_rules.CONGESTION]
max_attempts = 1
delay_s = 1

[plan.retry_rules.NO_ANSWER]
max_attempts = 1
delay_s = 1

[[agents]]
name = "ann"
interface = "PJSIP/101"

[[agents]]
name = "bob"
interface = "PJSIP/102"

[contacts]
csv = "contacts.csv"
""")
    return path


class TestOliveRun:
    def test_a_campaign_runs_to_completion_and_every_attempt_is_listed(self, tmp_path: Path, pbx_port: int) -> None:
        numbers = [f"+1202555100{i}" for i in range(4)] + ["+12025552001", "+12025554001"]
        path = campaign_file(tmp_path, pbx_port, name="cli-run", numbers=numbers)
        db = f"sqlite:///{tmp_path / 'olive.db'}"
        done = olive("run", str(path), "--no-live", "--database-url", db, env={"TEST_AMI_SECRET": "s3cret"})
        assert done.returncode == 0, done.stderr
        assert "Campaign cli-run: finished" in done.stdout
        assert "s3cret" not in done.stdout + done.stderr
        jsonl = olive("calls", "--campaign", "cli-run", "--format", "jsonl", "--database-url", db)
        records = [json.loads(line) for line in jsonl.stdout.splitlines()]
        outcomes = sorted(r["outcome"] for r in records)
        assert outcomes == ["BUSY", "BUSY", "CONGESTION", "CONNECTED", "CONNECTED", "CONNECTED", "CONNECTED"]
        # BUSY was retried once, by the plan's rule; CONGESTION was not
        assert all(r["ended_at"] for r in records)
        table = list(csv.DictReader(io.StringIO(olive("calls", "-c", "cli-run", "-f", "csv", "--database-url", db).stdout)))
        assert len(table) == len(records) and {"outcome", "customer_wait_s", "talk_s"} <= set(table[0])
        # Running the file again resumes the finished campaign: nobody is dialed again.
        again = olive("run", str(path), "--no-live", "--database-url", db, env={"TEST_AMI_SECRET": "s3cret"})
        assert again.returncode == 0 and "Resuming" in again.stderr
        assert len(olive("calls", "-c", "cli-run", "-f", "jsonl", "--database-url", db).stdout.splitlines()) == len(records)

    def test_refuses_to_dial_while_another_node_holds_the_database(self, tmp_path: Path, pbx_port: int) -> None:
        import time

        from olive.store import (
            LeaseRepository,
            make_engine,
            make_sessionmaker,
            migrate,
            transaction,
        )

        path = campaign_file(tmp_path, pbx_port, name="cli-lease", numbers=["+12025551001"])
        db = f"sqlite:///{tmp_path / 'olive.db'}"
        migrate(db)
        store = make_engine(db)
        with transaction(make_sessionmaker(store)) as session:
            LeaseRepository(session).acquire("serve-on-pbx1", "token", time.time(), 600.0)
        store.dispose()
        done = olive("run", str(path), "--no-live", "--database-url", db, env={"TEST_AMI_SECRET": "s3cret"})
        assert done.returncode == 3, done.stderr
        assert "refusing to dial: node serve-on-pbx1 holds the dialing lease" in done.stderr
        with create_engine(db).connect() as conn:
            assert conn.execute(text("select count(*) from campaigns")).scalar() == 0, "nothing installed"

    def test_a_directory_or_unreadable_file_is_an_error_not_a_traceback(self, tmp_path: Path) -> None:
        # issue 13: `olive run examples` crashed with IsADirectoryError.
        latin1 = tmp_path / "latin1.toml"
        latin1.write_bytes("[campaign]\nname = 'Jos\xe9'\n".encode("latin-1"))
        for target, says in [(tmp_path, "is a directory"), (latin1, "not UTF-8")]:
            done = olive("run", str(target), "--no-live", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
            assert done.returncode == 2, done.stderr
            assert says in " ".join(done.stderr.split()) and "Traceback" not in done.stderr

    def test_a_wrong_ami_secret_gives_up_with_a_clear_error(self, tmp_path: Path, pbx_port: int) -> None:
        # issue 13: a wrong secret logged "refused the login; retrying later" forever.
        path = campaign_file(tmp_path, pbx_port, name="cli-wrong-secret", numbers=["+12025551001"])
        done = olive("run", str(path), "--no-live", "--database-url", f"sqlite:///{tmp_path / 'olive.db'}",
                     env={"TEST_AMI_SECRET": "not-the-secret"}, timeout=90)
        assert done.returncode == 1, done.stderr
        text = " ".join(done.stderr.split())
        assert f"authentication failed for user 'olive' on 127.0.0.1:{pbx_port}: check the secret and manager.conf" in text
        assert "not-the-secret" not in done.stderr + done.stdout

    def test_a_bad_file_names_line_and_field_and_stores_nothing(self, tmp_path: Path, pbx_port: int) -> None:
        path = campaign_file(tmp_path, pbx_port, name="cli-bad", numbers=["+12025551001", "555-01"], extra="max_concurrent = 0\n")
        db_path = tmp_path / "olive.db"
        done = olive("run", str(path), "--no-live", "--database-url", f"sqlite:///{db_path}", env={"TEST_AMI_SECRET": "x"})
        assert done.returncode == 2
        assert "plan.max_concurrent" in done.stderr
        assert "line 3, field 'phone'" in done.stderr
        if db_path.exists():
            with create_engine(f"sqlite:///{db_path}").connect() as conn:
                assert conn.execute(text("select count(*) from campaigns")).scalar() == 0
