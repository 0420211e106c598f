"""The documentation: the site builds strictly (a broken link fails), and the monitoring
files name only metrics olive serves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "docs" / "monitoring"


def served_metric_names(tmp_path: Path) -> set[str]:
    from olive.api import create_app
    from olive.engine import Engine
    from olive.store import make_engine, make_sessionmaker, migrate

    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    migrate(url)
    sessions = make_sessionmaker(make_engine(url))
    app = create_app(sessions, Engine(sessions, {}))
    text = app.state.olive.metrics.render().decode()
    return {re.sub(r"_total$", "", n) for n in re.findall(r"^# TYPE (\w+) ", text, re.MULTILINE)}


def test_monitoring_files_name_served_metrics(tmp_path: Path) -> None:
    served = served_metric_names(tmp_path)
    assert {"olive_calls", "olive_agents", "olive_ami_up", "olive_engine_ticks", "olive_abandon_rate"} <= served
    for path in [MONITORING / "prometheus-alerts.yml", MONITORING / "grafana-dashboard.json", ROOT / "docs" / "operations.md"]:
        named = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in re.findall(r"\bolive_[a-z_]+", path.read_text())}
        assert named, path
        assert named <= served, f"{path.name} names metrics olive does not serve: {sorted(named - served)}"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """What `make docs` runs (mkdocs is in the test extra), with the API reference generated."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "rest-api" / "index.html").exists()
    assert "/campaigns/{campaign_id}/start" in (tmp_path / "site" / "reference" / "rest-api" / "index.html").read_text()
