"""`olive run FILE` and `olive calls`, as a user runs them: real processes, a simulated
Asterisk over TCP, an SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from cli_helpers import OLIVE
from olive import ami

HERE = Path(__file__).parent


def in_process(*args: str, env: dict[str, str] | None = None) -> Result:
    """``olive ARGS`` run in this process (typer's runner): for what is refused before any I/O."""
    from olive.cli import app

    return CliRunner().invoke(app, list(args), env=env)


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


def queue_members(port: int, queue: str = "olive-fast") -> set[str]:
    """The members Asterisk (here the simulator) has in ``queue``, asked over AMI."""
    codec = ami.AMICodec(ami.Role.CLIENT)
    members: set[str] = set()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(codec.send(ami.action("Login", [("ActionID", "l")], Username="olive", Secret="s3cret")))
        sock.sendall(codec.send(ami.action("QueueStatus", [("ActionID", "q")], Queue=queue)))
        while True:
            data = sock.recv(65536)
            assert data, "the simulator closed the connection"
            codec.receive_data(data)
            while (m := codec.next_message()) is not ami.NEED_DATA:
                if isinstance(m, ami.Response) and m.action_id == "l":
                    assert m.ok, m
                if isinstance(m, ami.Event) and m.name == "QueueMember":
                    members.add(m.get("Location") or "")
                if isinstance(m, ami.Event) and m.name == "QueueStatusComplete":
                    return members


def agent_states(db_path: Path) -> dict[str, str]:
    with create_engine(f"sqlite:///{db_path}").connect() as conn:
        return dict(conn.execute(text("select name, state from agents")).all())  # type: ignore[arg-type]


def _running_with_agents(tmp_path: Path, pbx_port: int, name: str) -> subprocess.Popen[str]:
    """``olive run`` of a 20-contact campaign on ``tmp_path/olive.db``, once both its agents are in the
    queue. Long retry delays keep the campaign going until the test stops it."""
    numbers = [f"+120255520{i:02d}" for i in range(20)]
    path = campaign_file(tmp_path, pbx_port, name=name, numbers=numbers)
    path.write_text(path.read_text().replace("max_attempts = 2\ndelay_s = 1", "max_attempts = 2\ndelay_s = 600"))
    proc = subprocess.Popen(
        [*OLIVE, "run", str(path), "--no-live", "--database-url", f"sqlite:///{tmp_path / 'olive.db'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "TEST_AMI_SECRET": "s3cret"},
    )
    deadline = time.monotonic() + 60
    while queue_members(pbx_port) & {"PJSIP/101", "PJSIP/102"} != {"PJSIP/101", "PJSIP/102"}:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate())
        if time.monotonic() >= deadline:
            proc.kill()
            raise AssertionError("olive run never added its agents")
        time.sleep(0.2)
    return proc


class TestOliveRunLeavesNoMemberBehind:
    """docs/campaign-file.md: its agents are queue members while it runs and removed when it ends."""

    def test_at_completion(self, tmp_path: Path, pbx_port: int) -> None:
        path = campaign_file(tmp_path, pbx_port, name="cli-members", numbers=["+12025551001", "+12025552001"])
        done = olive("run", str(path), "--no-live", "--database-url", f"sqlite:///{tmp_path / 'olive.db'}",
                     env={"TEST_AMI_SECRET": "s3cret"})
        assert done.returncode == 0, done.stderr
        assert queue_members(pbx_port) & {"PJSIP/101", "PJSIP/102"} == set(), done.stderr
        assert agent_states(tmp_path / "olive.db") == {"ann": "logged_out", "bob": "logged_out"}

    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
    def test_when_stopped_by_a_signal(self, tmp_path: Path, pbx_port: int, sig: signal.Signals) -> None:
        db_path = tmp_path / "olive.db"
        proc = _running_with_agents(tmp_path, pbx_port, f"cli-sig-{sig.name}")
        try:
            proc.send_signal(sig)
            if sig is signal.SIGINT:  # the first Ctrl-C lets calls end; the second quits now
                time.sleep(0.3)
                proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "Traceback" not in err, err
        assert f"Campaign cli-sig-{sig.name}" in out  # it ended as it should: with its summary
        assert queue_members(pbx_port) & {"PJSIP/101", "PJSIP/102"} == set()
        assert agent_states(db_path) == {"ann": "logged_out", "bob": "logged_out"}


    def test_ctrl_c_held_down_until_it_exits(self, tmp_path: Path, pbx_port: int) -> None:
        """An operator leaning on Ctrl-C: interrupts land in the clean-up and in the interpreter's own
        exit (joining the database thread), where an unhandled one printed a KeyboardInterrupt traceback."""
        db_path = tmp_path / "olive.db"
        proc = _running_with_agents(tmp_path, pbx_port, "cli-held")
        try:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                proc.send_signal(signal.SIGINT)
                time.sleep(0.01)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert proc.returncode == 0, err
        assert "Campaign cli-held" in out
        assert queue_members(pbx_port) & {"PJSIP/101", "PJSIP/102"} == set()
        assert agent_states(db_path) == {"ann": "logged_out", "bob": "logged_out"}


class TestOliveRun:
    def test_a_campaign_runs_to_completion_and_every_attempt_is_listed(self, tmp_path: Path, pbx_port: int) -> None:
        numbers = [f"+1202555100{i}" for i in range(4)] + ["+12025552001", "+12025554001"]
        path = campaign_file(tmp_path, pbx_port, name="cli-run", numbers=numbers)
        db = f"sqlite:///{tmp_path / 'olive.db'}"
        done = olive("run", str(path), "--no-live", "--database-url", db, env={"TEST_AMI_SECRET": "s3cret"})
        assert done.returncode == 0, done.stderr
        assert "Campaign cli-run: finished" in done.stdout
        assert "s3cret" not in done.stdout + done.stderr
        # `olive calls` in process: it only reads the database (a process costs seconds on a loaded machine).
        jsonl = in_process("calls", "--campaign", "cli-run", "--format", "jsonl", "--database-url", db)
        assert jsonl.exit_code == 0, jsonl.output
        records = [json.loads(line) for line in jsonl.stdout.splitlines()]
        outcomes = sorted(r["outcome"] for r in records)
        assert outcomes == ["BUSY", "BUSY", "CONGESTION", "CONNECTED", "CONNECTED", "CONNECTED", "CONNECTED"]
        # BUSY was retried once, by the plan's rule; CONGESTION was not
        assert all(r["ended_at"] for r in records)
        table = list(csv.DictReader(io.StringIO(in_process("calls", "-c", "cli-run", "-f", "csv", "--database-url", db).stdout)))
        assert len(table) == len(records) and {"outcome", "customer_wait_s", "talk_s"} <= set(table[0])
        # Running the file again resumes the finished campaign: nobody is dialed again.
        again = olive("run", str(path), "--no-live", "--database-url", db, env={"TEST_AMI_SECRET": "s3cret"})
        assert again.returncode == 0 and "Resuming" in again.stderr
        assert len(in_process("calls", "-c", "cli-run", "-f", "jsonl", "--database-url", db).stdout.splitlines()) == len(records)

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
        # issue 13: `olive run examples` crashed with IsADirectoryError. In process: the file is
        # refused before any I/O, and a process costs seconds on a loaded machine (the exit code
        # of a real process is checked by test_a_bad_file_names_line_and_field_and_stores_nothing).
        latin1 = tmp_path / "latin1.toml"
        latin1.write_bytes("[campaign]\nname = 'Jos\xe9'\n".encode("latin-1"))
        for target, says in [(tmp_path, "is a directory"), (latin1, "not UTF-8")]:
            done = in_process("run", str(target), "--no-live", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
            assert done.exit_code == 2, done.output
            assert isinstance(done.exception, SystemExit), done.exception  # not a traceback
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


class TestOliveRunFatalError:
    def test_a_fatal_error_still_logs_the_agents_out(
        self, tmp_path: Path, pbx_port: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import asyncio

        from typer.testing import CliRunner

        import olive.cli._drive
        from olive.cli import app

        async def crash(*args: object, **kwargs: object) -> None:
            deadline = time.monotonic() + 30
            while queue_members(pbx_port) & {"PJSIP/101", "PJSIP/102"} != {"PJSIP/101", "PJSIP/102"}:
                assert time.monotonic() < deadline, "olive run never added its agents"
                await asyncio.sleep(0.2)
            raise RuntimeError("the live view broke")

        monkeypatch.setattr(olive.cli._drive, "drive", crash)
        monkeypatch.setenv("TEST_AMI_SECRET", "s3cret")
        path = campaign_file(tmp_path, pbx_port, name="cli-fatal", numbers=["+12025551001"])
        db_path = tmp_path / "olive.db"
        result = CliRunner().invoke(app, ["run", str(path), "--no-live", "--database-url", f"sqlite:///{db_path}"])
        assert isinstance(result.exception, RuntimeError), result.output
        assert queue_members(pbx_port) & {"PJSIP/101", "PJSIP/102"} == set()
        assert agent_states(db_path) == {"ann": "logged_out", "bob": "logged_out"}


class TestPrivateNumberingInACampaignFile:
    def test_contacts_numbering_private_takes_lab_numbers(self, tmp_path: Path) -> None:
        from olive.campaign_file import CampaignFileError, load

        path = campaign_file(tmp_path, 5038, name="lab", numbers=["1001", "1002"])
        with pytest.raises(CampaignFileError, match="impossible number"):
            load(path)
        path.write_text(path.read_text().replace('csv = "contacts.csv"', 'csv = "contacts.csv"\nnumbering = "private"'))
        loaded = load(path)
        assert [c.numbers for c in loaded.contacts] == [("1001",), ("1002",)]
        assert loaded.spec.contacts.numbering == "private"
        (tmp_path / "contacts.csv").write_text("phone\n10\x0701\n")
        with pytest.raises(CampaignFileError, match="control character"):
            load(path)


class TestAgentlessCampaignFile:
    def test_an_agentless_plan_needs_no_agents_and_others_do(self, tmp_path: Path) -> None:
        import re

        from olive.campaign_file import CampaignFileError, load

        path = campaign_file(tmp_path, 5038, name="broadcast", numbers=["+12025550100"])
        no_agents = re.sub(r"\[\[agents\]\]\nname = \"\w+\"\ninterface = \"PJSIP/10\d\"\n\n", "", path.read_text())
        assert "[[agents]]" not in no_agents
        path.write_text(no_agents)
        with pytest.raises(CampaignFileError, match="only an agentless plan needs none"):
            load(path)
        path.write_text(no_agents.replace('channel_template = "PJSIP/{number}@trunk"\n',
                                          'channel_template = "PJSIP/{number}@trunk"\ndial_mode = "agentless"\n'
                                          'message = "acme/offer"\nivr_prompt = "acme/press-9"\n'))
        loaded = load(path)
        assert loaded.spec.agents == [] and loaded.spec.plan.dial_mode == "agentless"
        assert loaded.spec.plan.ivr_optout_key == "9"
