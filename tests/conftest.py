"""Shared fixtures. The database ones run each test on SQLite and on PostgreSQL.

Database fixtures (reuse them in any test that needs a real store):

``db_backend``  module-scoped, parametrised: ``"sqlite"`` and ``"postgresql"``
                (marked ``postgres``). Override it in a test module to pin one.
``db_url``      a fresh database, migrated to head, for the test module: a temp
                SQLite file, or a uniquely named PostgreSQL database created on
                the server at ``$OLIVE_TEST_POSTGRES_URL`` (default
                ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and
                dropped afterwards, so ``pytest -n 2`` workers never collide.
``db_engine``   an ``olive.store.make_engine`` engine on ``db_url`` (module).
``db_clean``    the engine; every table is emptied after the test. Use it when
                the code under test opens its own sessions (API server, engine).
``session_factory``  a sessionmaker on the engine; tables emptied after the test.
``session``     one Session (rolled back and closed after the test; tables emptied).
``blank_db_url``  a fresh, *unmigrated* database for this test only.

Without a reachable PostgreSQL the ``postgresql`` tests are not run: they are
skipped, and one line at the end of the run says so and how to run them. When
the ``CI`` environment variable is set they fail instead: CI must run them.

Property-based tests (hypothesis, schemathesis) are deterministic by default:
the same examples on every run, so CI cannot pass or fail by chance. A longer
randomized search is its own command: ``pytest --randomized`` (or
``OLIVE_TEST_RANDOMIZED=1``); a failure it finds becomes an explicit test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from support.fuzzing import RANDOMIZED_ENV, randomized

POSTGRES_URL_ENV = "OLIVE_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--randomized",
        action="store_true",
        help=f"property-based tests with fresh random examples, and more of them (also {RANDOMIZED_ENV}=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--randomized"):
        os.environ[RANDOMIZED_ENV] = "1"  # read by the schemathesis modules when they are imported
    from hypothesis import settings

    # Deterministic: examples derived from each test's source, no example database.
    settings.register_profile("olive", derandomize=True, print_blob=True)
    # Randomized: new examples each run; failures are kept in .hypothesis/ and replayed first.
    settings.register_profile("olive-randomized", derandomize=False, print_blob=True)
    settings.load_profile("olive-randomized" if randomized() else "olive")


def postgres_admin_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


POSTGRES_SKIP = "PostgreSQL is not reachable"
_postgres_checked: list[str | None] = []  # asked once per process: [why] or [None]
_postgres_skipped: list[str] = []  # the tests it kept from running, for the summary line


def postgres_unreachable() -> str | None:
    """Why the server at postgres_admin_url() cannot be used, or None (asked once)."""
    if not _postgres_checked:
        engine = create_engine(postgres_admin_url(), connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            _postgres_checked.append(None)
        except OperationalError as exc:
            _postgres_checked.append(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
        finally:
            engine.dispose()
    return _postgres_checked[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs on the xdist controller too, with every worker's reports.
    if report.skipped and POSTGRES_SKIP in str(report.longrepr):
        _postgres_skipped.append(report.nodeid)
        if isinstance(report.longrepr, tuple):  # one "SKIPPED [n]" line for them all, not one per test file
            report.longrepr = (__file__, 0, report.longrepr[2])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_skipped:
        terminalreporter.write_line(
            f"NOT RUN: {len(_postgres_skipped)} PostgreSQL test(s): {POSTGRES_SKIP} at "
            f"{make_url(postgres_admin_url()).render_as_string(hide_password=True)}. To run them, start "
            f"PostgreSQL (trust auth, a database 'test') or set {POSTGRES_URL_ENV}; with CI set they fail instead.",
            yellow=True,
            bold=True,
        )


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """An empty database of ``backend`` that exists for the ``with`` block."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'olive-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin_url = make_url(postgres_admin_url())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"olive_test_{worker}_{uuid.uuid4().hex[:12]}"
    if (why := postgres_unreachable()) is not None:
        where = admin_url.render_as_string(hide_password=True)
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_SKIP} at {where} and CI is set (set {POSTGRES_URL_ENV}): {why}", pytrace=False)
        pytest.skip(f"{POSTGRES_SKIP} at {where}: {why}")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL refused a new database at {admin_url.render_as_string(hide_password=True)} "
            f"(set {POSTGRES_URL_ENV}): {exc.orig}",
            pytrace=False,
        )
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(scope="module")
def db_url(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from olive.store import migrate

    with fresh_database(db_backend, tmp_path_factory.mktemp("db")) as url:
        migrate(url)
        yield url


@pytest.fixture
def blank_db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(db_backend, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def db_engine(db_url: str) -> Iterator[Engine]:
    from olive.store import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_clean(db_engine: Engine) -> Iterator[Engine]:
    from olive.store import Base

    yield db_engine
    with db_engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def session_factory(db_clean: Engine) -> sessionmaker[Session]:
    from olive.store import make_sessionmaker

    return make_sessionmaker(db_clean)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session
