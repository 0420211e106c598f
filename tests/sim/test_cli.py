"""``olive sim``: listens where it says, answers AMI, stops on Ctrl-C (SIGINT)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys

from typer.testing import CliRunner

from olive.cli import app


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["sim", "--help"])
    assert result.exit_code == 0
    for option in ("--scenario", "--host", "--port", "--username", "--secret", "--scale", "--seed"):
        assert option in result.output


def test_a_bad_scenario_is_reported() -> None:
    result = CliRunner().invoke(app, ["sim", "--scenario", "no-such-one"])
    assert result.exit_code == 2
    assert "no built-in scenario" in result.output


def test_serves_ami_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from olive.cli import main; main()", "sim", "--port", "0", "--scenario", "lab",
         "--seed", "3", "--username", "u", "--secret", "s"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"AMI on 127\.0\.0\.1:(\d+) as 'u'", line)
        assert m, line
        assert "seed 3" in line
        with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=10) as sock:
            sock.settimeout(10)
            assert sock.recv(100).startswith(b"Asterisk Call Manager/11.0.0\r\n")
            sock.sendall(b"Action: Login\r\nActionID: 1\r\nUsername: u\r\nSecret: s\r\n\r\n")
            reply = b""
            while b"\r\n\r\n" not in reply:
                reply += sock.recv(4096)
            assert b"Authentication accepted" in reply
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert "stopped" in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
