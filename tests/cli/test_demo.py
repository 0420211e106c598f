"""`olive demo`, the README's first command, as a user runs it (smaller and faster: 20 contacts)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from cli_helpers import OLIVE, taken_port


def test_the_demo_runs_its_campaign_to_the_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [*OLIVE, "demo", "--contacts", "20", "--agents", "3", "--speed", "100", "--api-port", "0", "--db", str(db)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "Campaign demo: finished" in out
    for figure in ("abandon rate", "agent occupancy", "connects per agent-hour", "calls CONNECTED"):
        assert figure in out
    calls = subprocess.run(
        [*OLIVE, "calls", "--campaign", "demo", "--format", "jsonl", "--database-url", f"sqlite:///{db}"],
        capture_output=True, text=True, timeout=60,
    )
    records = [json.loads(line) for line in calls.stdout.splitlines()]
    assert len({r["id"] for r in records}) == len(records) >= 20  # one record per attempt, every contact tried
    assert all(r["outcome"] for r in records)


def test_a_taken_api_port_is_refused_and_the_old_database_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    db.write_bytes(b"another demo's records")
    with taken_port() as port:
        done = subprocess.run(
            [*OLIVE, "demo", "--api-port", str(port), "--db", str(db)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"},
        )
    assert done.returncode == 2
    assert f"cannot serve the API on 127.0.0.1:{port}: Address already in use" in done.stderr
    assert "--api-port 0" in done.stderr and "Traceback" not in done.stderr
    assert db.read_bytes() == b"another demo's records"
