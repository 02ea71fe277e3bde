"""Fixtures shared by the whole suite, and its rules. Read this before adding a test.

Databases
    ``app`` (with ``client``, ``runner``, ``accounts``) is a fresh app per test, on SQLite (a copy of a
    template file prepared once per session), and also on PostgreSQL (``TEST_DATABASE_URL``: a schema of
    its own per session and xdist worker, emptied per test) when the test is marked ``both_backends``.
    Mark a test so (``@pytest.mark.both_backends``, or ``pytestmark`` for a module) when it is about what
    is stored and read back (submissions, uploads, sessions, jobs, exports), or when it is the only test
    to send some statement to PostgreSQL: ``tests/sql_shapes.py`` lists the statements each test sends
    and those that no test on both backends sends. A page or a rule checked on SQLite is the same page on
    PostgreSQL once every statement behind it runs there (recorded in bench/RESULTS.md, "test suite
    time"). A test that belongs on PostgreSQL alone uses :data:`ON_POSTGRESQL`.
    A test that needs the demo data asks for ``load_demo`` and calls ``load_demo(per_ward)``: the demo is
    seeded once per run for each ``per_ward`` (the first xdist worker to need it seeds an SQLite file
    while the others wait for it; the PostgreSQL template is a migrated schema holding the same rows,
    copied from that file) and copied into the test's database, far faster than seeding it again.
    Use a ``per_ward`` the suite already uses (8; 16 for small-area; 32, the default of ``khaosat demo``,
    for what needs its size, such as a self-selected stream large enough to rake by ward): each new value
    costs a seeding (5-40 s of CPU). Call
    ``runner.invoke(args=["demo", ...])`` only to test the command itself (``tests/web/test_cli.py``
    does, on both backends). Werkzeug's URL builders are compiled once per process, not per app (see
    :func:`_compile_url_builders_once`).

Markers (applied here, by what a test uses; never needed by hand)
    ``browser``: under ``tests/browser`` or using the ``browser`` fixture (Debian's Chromium, ``CHROMIUM``).
    ``postgres``: the ``postgres`` value of a ``backend``-like parameter, or a fixture named ``pg_*``.
    ``slow``: a test using the demo data (``load_demo``, ``live_demo``); mark others by hand
    (``pytestmark = pytest.mark.slow`` or ``@pytest.mark.slow``) when they take over about a second on a
    quiet machine: servers in other processes, sweeps over every route, long statistical checks.
    ``make test-fast`` runs ``-m "not browser and not postgres and not slow"`` for the edit-test loop;
    ``make test`` runs everything.

Skips
    A test whose environment is missing calls :func:`unavailable` (never ``pytest.skip`` directly).
    With ``KHAOSAT_REQUIRE_ALL_TESTS=1`` (set by ``.ci/run``) that is a failure, and so is any other
    skip whose reason is not listed in ``tests/expected_skips.txt`` (one reason, or the start of one, a
    line; say why after ``#``). Add a line there only for what CI cannot have, and say so in review.

Parallel runs (pytest-xdist, ``make test`` uses ``-n 2``)
    Session fixtures run once per worker; what all workers of a run share (the demo templates) is made
    under :func:`run_lock` in :func:`shared_folder` and removed by the main process at the end, with the
    PostgreSQL schemas named after :func:`run_id`. Anything else shared outside the process must be unique per run:
    PostgreSQL schemas, tables and databases get a random suffix (see :func:`unique`), servers bind port 0
    (or ``free_port``), Redis keys carry a random client address, files go under ``tmp_path``.

Fixtures live in ``tests/fixtures/``; no test reads a file outside the repository.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import hypothesis  # noqa: F401  (imported now, not by its plugin's summary: see below)
import jinja2
import jinja2.bccache
import pytest
import redis
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel
from werkzeug.routing import Rule

import tests.one_blas_thread  # noqa: F401  (first: before NumPy is imported)
import web.models  # noqa: F401  (every table in SQLModel.metadata, for copying the demo's rows)
from analysis import cell_suppression
from surveys import areas
from web import background, catalog, create_app, db
from web.auth import hash_password, new_token
from web.config import normalise_database_url
from web.demo import seed_demo
from web.models import User
from web.national_demo import seed_national
from web.population import build_population
from web.research import snapshots
from web.research.margins import replace_margins

# Hypothesis is imported with the suite's rules, in every process: otherwise the process that only runs the
# xdist workers (or a run of files that do not use it) imports it from its plugin's terminal summary, deep in
# pytest's stack, where CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905) after every test passed: 3 of 9 single-file runs here.
REQUIRE_ALL = os.environ.get("KHAOSAT_REQUIRE_ALL_TESTS") == "1"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgres"]
ALL_BACKENDS = os.environ.get("KHAOSAT_ALL_BACKENDS") == "1"  #: every test using ``app`` on both (tests/sql_shapes.py)
APP_TABLES = ["jobs", "province_margins", "response_edits", "response_flags", "pending_uploads", "survey_rounds", "visits", "sampled_households", "sample_draws", "frame_households", "frame_groups", "ward_covariates", "population_margins", "personal_details", "audit_events", "ward_assignments", "ward_quotas",
              "response_csv", "responses", "drafts", "api_tokens", "user_sessions", "users", "survey_versions", "surveys",
              "weight_snapshots"]
TEST_CONFIG = {"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "SERVER_NAME": None,
               "RATELIMIT_ENABLED": False}
EXPECTED_SKIPS = Path(__file__).with_name("expected_skips.txt")
DEMO_SEED = 20251  # the ``khaosat demo`` default
DEMO_FIXTURES = {"load_demo", "live_demo", "demo_templates"}  #: a test using one is marked ``slow``


def _compile_url_builders_once() -> None:
    """Werkzeug compiles two URL-building functions (Python source, ``ast``, ``compile``) for each of the
    app's ~100 routes in every ``create_app``: two thirds of its time (about 45 of 70 ms), paid by every
    test, since each makes its own app. The compiled function depends only on the rule (its text, parts
    and defaults) and takes the rule as its first argument, so the suite compiles each rule's once per
    process and binds it to every app's rule, as Werkzeug itself does. Test-only: the app is unchanged."""
    compile_builder = Rule._compile_builder
    builders: dict[tuple, Callable] = {}

    def compiled_once(rule: Rule, append_unknown: bool = True) -> Callable:
        key = (rule.rule, rule.subdomain, rule.host, tuple(rule._trace),
               repr(sorted((rule.defaults or {}).items(), key=repr)), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = compiled_once


_compile_url_builders_once()


class _SharedTemplateCode(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept for the process: each app has its own Jinja environment, which
    compiles every template it renders again (40% of a fresh app's first four requests). Every app the
    suite makes has the same Jinja settings, and Jinja checks each template's source checksum, so the
    code compiled for one app is the code of the next. Test-only, like :func:`_compile_url_builders_once`."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


def _share_template_code() -> None:
    shared = _SharedTemplateCode()
    make_environment = Flask.create_jinja_environment

    def with_shared_code(app: Flask):
        environment = make_environment(app)
        environment.bytecode_cache = shared
        return environment

    Flask.create_jinja_environment = with_shared_code


_share_template_code()


def unavailable(reason: str):
    """Skip, or fail where CI demands that every test runs."""
    if REQUIRE_ALL:
        pytest.fail(f"required test environment missing: {reason}")
    pytest.skip(reason)


def unique(prefix: str) -> str:
    """A name no other test run (another worker, another checkout) uses at the same time."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# -- one run, several workers -------------------------------------------------------------------------


def pytest_configure(config):
    """Give this run an id its xdist workers share (xdist passes ``--testrunuid`` on to them)."""
    if not hasattr(config, "workerinput") and getattr(config.option, "testrunuid", None) is None:
        config.option.testrunuid = uuid.uuid4().hex


def run_id(config) -> str:
    """The same short id in every worker of one run, and a different one in every other run."""
    return (config.workerinput["testrunuid"] if hasattr(config, "workerinput") else config.option.testrunuid)[:12]


def shared_folder(config) -> Path:
    """A folder every worker of this run shares (removed by the run's main process at the end)."""
    folder = Path(tempfile.gettempdir()) / f"khaosat-tests-{run_id(config)}"
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def run_lock(config, name: str) -> Iterator[None]:
    """Held by one worker of this run at a time: the others wait for what it makes, then use it."""
    with open(shared_folder(config) / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_schemas(config) -> str:
    return f"%\\_{run_id(config)}%"  # ks_demo8_<run>, and one left half-made


# -- markers and the skip rule ---------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    for item in items:
        params = getattr(item, "callspec", None)
        values = params.params.values() if params else ()
        on_postgres = any(isinstance(v, str) and v in ("postgres", "postgresql") for v in values)
        if on_postgres or any(f.startswith("pg_") for f in item.fixturenames):
            item.add_marker(pytest.mark.postgres)
        if "browser" in item.fixturenames or "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
        if DEMO_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.slow)


def expected_skips() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in EXPECTED_SKIPS.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


_unexpected: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not any(reason.startswith(allowed) for allowed in expected_skips()):
            _unexpected.append((report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return
    if REQUIRE_ALL and _unexpected and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _remove_shared(session.config)


def _remove_shared(config) -> None:
    """Once every worker is done: the run's shared folder and the PostgreSQL schemas its workers shared."""
    shutil.rmtree(Path(tempfile.gettempdir()) / f"khaosat-tests-{run_id(config)}", ignore_errors=True)
    if not PG_URL:
        return
    engine = create_engine(normalise_database_url(PG_URL))
    try:
        with engine.begin() as conn:
            for schema in conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                       {"p": _shared_schemas(config)}).scalars():
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    except Exception:  # noqa: BLE001  (PostgreSQL gone: nothing to clean, and the tests already said so)
        pass
    finally:
        engine.dispose()


def pytest_terminal_summary(terminalreporter):
    if REQUIRE_ALL and _unexpected and not hasattr(terminalreporter.config, "workerinput"):
        terminalreporter.section("skips not listed in tests/expected_skips.txt (KHAOSAT_REQUIRE_ALL_TESTS=1)", red=True)
        for nodeid, reason in _unexpected:
            terminalreporter.line(f"UNEXPECTED SKIP {nodeid}: {reason}", red=True)


# -- databases -------------------------------------------------------------------------------------


def forget_caches(app) -> None:
    """Forget what the app remembers of its database (its data were just replaced under the same URL)."""
    app.extensions["khaosat_cache"].clear()


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def forget_redis_snapshots(app) -> None:
    """Delete the weights an earlier test saved in Redis for this app's database: a worker's PostgreSQL tests
    reuse one schema, and the same demo gives the same data stamp, so they would be taken for this test's."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=0.5)
    with app.app_context():
        prefix = snapshots.redis_key(db.session(), "")
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # no Redis here: nothing saved there either
    finally:
        client.close()


def _prepare(url: str, engine_options: dict) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "ENGINE_OPTIONS": engine_options})
    with app.app_context():
        db.upgrade(db.engine())
        catalog.load_areas(db.session())
        catalog.publish_builtin(db.session())
        db.engine().dispose()


def _schema_options(schema: str) -> dict:
    """The engine options of a test schema. Commits there do not wait for the disk (``synchronous_commit``
    off: ~7 ms saved a commit here); a server crash could lose the last ones, which no test on this shared
    server causes: the crash tests run servers of their own with it on (:mod:`tests.pg_cluster`)."""
    return {"connect_args": {"options": f"-csearch_path={schema} -csynchronous_commit=off"}}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    _prepare(f"sqlite:///{path}", {})
    return path


@pytest.fixture(scope="session")
def pg_admin():
    """An engine on the PostgreSQL test database, and the schemas made through it, dropped at the end."""
    if not PG_URL:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    admin = create_engine(normalise_database_url(PG_URL))
    schemas: list[str] = []

    def new_schema(prefix: str) -> dict:
        schemas.append(unique(prefix))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schemas[-1]}"'))
        options = _schema_options(schemas[-1])
        _prepare(PG_URL, options)
        return options

    yield new_schema
    for schema in schemas:
        drop_schema(admin, schema)
    admin.dispose()


def drop_schema(admin, schema: str) -> None:
    """``DROP SCHEMA … CASCADE``, ending first any connection left holding a lock in that schema.

    A test that leaves a streamed response unclosed (a WSGI server always closes it; Flask's test client only
    when asked) leaves its read transaction open on this worker's schema, and the drop would wait for it
    for ever. Only connections holding locks on the schema's own tables are ended, and it is said on stderr."""
    statement = text(f'DROP SCHEMA "{schema}" CASCADE')
    for _ in range(3):
        with admin.connect() as conn:
            try:
                conn.execute(text("SET lock_timeout = '10s'"))
                conn.execute(statement)
                conn.commit()
                return
            except OperationalError:
                conn.rollback()
                ended = conn.execute(text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND l.pid <> pg_backend_pid()"
                    " GROUP BY l.pid"), {"s": schema}).all()
                conn.commit()
                sys.stderr.write(f"\nconftest: {len(ended)} connection(s) left in a transaction on {schema} ended\n")
    with admin.begin() as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def pg_schema(pg_admin):
    """Engine options putting an app in this session's (and worker's) own PostgreSQL schema."""
    options = pg_admin("ks_test")
    options["reset"] = _reset_script(options)
    yield options
    with create_engine(normalise_database_url(PG_URL)).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{_schema_of(options)}_pristine" CASCADE'))


def _schema_of(options: dict) -> str:
    return options["connect_args"]["options"].split()[0].removeprefix("-csearch_path=")


def _reset_script(options: dict) -> str:
    """One SQL script that puts the schema back as :func:`_prepare` left it: the app's tables emptied by
    DELETE, the rows ``_prepare`` wrote restored from a pristine copy kept in a schema beside it, and the
    id sequences restarted after them. TRUNCATE would make new files for every table and index, and
    publishing the built-in surveys again parses them: together 0.3–1 s a test, against ~20 ms."""
    pristine = f"{_schema_of(options)}_pristine"
    engine = create_engine(normalise_database_url(PG_URL), connect_args=options["connect_args"])
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{pristine}"'))
        kept = [t for t in APP_TABLES if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()]
        for table in kept:
            conn.execute(text(f'CREATE TABLE "{pristine}"."{table}" AS SELECT * FROM "{table}"'))
        sequences = conn.execute(text(
            "SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND c.relname = ANY(:t)"
            " AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL"), {"t": APP_TABLES}).all()
    engine.dispose()
    statements = ["SET LOCAL session_replication_role = replica"]  # no foreign-key order to follow
    # the roll-ups of surveys estimated by the database (web.research.in_database) are tables of their own
    statements.append("DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = "
                      "current_schema() AND tablename LIKE 'khaosat\\_rollup\\_%%' LOOP EXECUTE format('DROP TABLE %%I', t); "
                      "END LOOP; END $$")
    statements += [f'DELETE FROM "{t}"' for t in APP_TABLES]
    statements += [f'INSERT INTO "{t}" SELECT * FROM "{pristine}"."{t}"' for t in kept]
    statements += [f"SELECT setval('{seq}', COALESCE((SELECT MAX(\"{col}\") FROM \"{table}\"), 0) + 1, false)"
                   for table, col, seq in sequences]
    return ";\n".join(statements)


#: for a test that belongs on PostgreSQL alone, such as the sweeps of hostile values over every form: PostgreSQL
#: refuses a NUL in text, a number out of its column's range and a string over its column's length, all of which
#: SQLite stores, so a value that passes there may still fail here
ON_POSTGRESQL = pytest.mark.parametrize("backend", ["postgres"])


def pytest_generate_tests(metafunc):
    """Which backends a test using ``app`` runs on: SQLite, and PostgreSQL too when it is marked
    ``both_backends`` (or names its backends in its own ``parametrize``). See "Databases" above."""
    if "backend" not in metafunc.fixturenames or any(
            "backend" in _names(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")):
        return
    both = ALL_BACKENDS or metafunc.definition.get_closest_marker("both_backends") is not None
    metafunc.parametrize("backend", BACKENDS if both else BACKENDS[:1], indirect=True)


def _names(argnames) -> list[str]:
    return [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)


@pytest.fixture
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(request, backend, tmp_path):
    """A fresh app and database per test: areas loaded, built-in surveys published, nothing else."""
    config = dict(TEST_CONFIG)
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "khaosat.sqlite"
        shutil.copy(template, path)
        config.update(DATABASE_URL=f"sqlite:///{path}", ENGINE_OPTIONS={})
    else:
        options = dict(request.getfixturevalue("pg_schema"))
        reset = options.pop("reset")
        config.update(DATABASE_URL=PG_URL, ENGINE_OPTIONS=options)
    app = create_app(config)
    forget_caches(app)
    if backend == "postgres":
        with app.app_context(), db.engine().begin() as conn:
            conn.exec_driver_sql(reset)  # one round trip
        forget_redis_snapshots(app)
    yield app
    still = background.finish(app, 120)  # its job, aside and weights threads end before the next test's database
    with app.app_context():
        db.engine().dispose()
    assert not still, f"background threads still running after the test: {still}"


# -- the demo, seeded once per session ------------------------------------------------------------


NATIONAL = "national"  #: the template key of the national demo (:func:`_seed_national`) beside ``per_ward`` values


def _seed_national(session) -> None:
    """The national demo (24 a province), next to Hà Nội's ward margins, which a national survey must not
    be raked to (``tests/web/test_national.py``'s ``national`` fixture copies it)."""
    replace_margins(session, areas.HANOI, build_population(areas.HANOI).margins(), "demo", None)
    report = seed_national(session, per_province=24)
    assert "national responses added" in report, report


class DemoTemplates:
    """Databases holding ``khaosat demo --per-ward N`` (or the national demo: ``NATIONAL``), made once per
    run and shared by its xdist workers.

    The first worker to need ``per_ward`` N seeds an SQLite file with it (the others wait on a lock, then
    use that file); the PostgreSQL template is a schema migrated as the app's are, holding the same rows
    copied from that file (the seeding's Python work is the same on both backends; the seeding's own SQL
    on PostgreSQL is tested by ``tests/web/test_cli.py``, which runs ``khaosat demo`` on both)."""

    def __init__(self, request) -> None:
        self.request = request
        self.config = request.config
        self.sqlite: dict[int, Path] = {}
        self.postgres: dict[int, str] = {}

    @staticmethod
    def _seed(url: str, options: dict, per_ward: int | str) -> None:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "ENGINE_OPTIONS": options})
        with app.app_context():
            if per_ward == NATIONAL:
                _seed_national(db.session())
            else:
                seed_demo(db.session(), app.config["KHAOSAT_PROVINCE"], per_ward=per_ward, seed=DEMO_SEED)
            db.session().close()
            db.engine().dispose()

    def sqlite_file(self, per_ward: int | str) -> Path:
        if per_ward not in self.sqlite:
            path = shared_folder(self.config) / f"demo{per_ward}.sqlite"
            with run_lock(self.config, f"demo{per_ward}-sqlite"):
                if not path.exists():  # made whole under another name, so a file here is always complete
                    making = path.with_suffix(".making")
                    shutil.copy(self.request.getfixturevalue("sqlite_template"), making)
                    self._seed(f"sqlite:///{making}", {}, per_ward)
                    making.rename(path)
            self.sqlite[per_ward] = path
        return self.sqlite[per_ward]

    def postgres_schema(self, per_ward: int | str) -> str:
        if per_ward not in self.postgres:
            rows = self.sqlite_file(per_ward)
            schema = f"ks_demo{per_ward}_{run_id(self.config)}"
            with run_lock(self.config, f"demo{per_ward}-postgres"):
                admin = create_engine(normalise_database_url(PG_URL))
                try:
                    with admin.connect() as conn:
                        made = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first()
                    if not made:
                        _make_demo_schema(admin, schema, rows)
                finally:
                    admin.dispose()
            self.postgres[per_ward] = schema
        return self.postgres[per_ward]

    def copy_into(self, app, per_ward: int | str) -> None:
        """Replace the app's data by the demo's (before the test makes any request)."""
        url = app.config["DATABASE_URL"]
        with app.app_context():
            db.session().close()
            db.engine().dispose()
            if url.startswith("sqlite"):
                target = Path(url.removeprefix("sqlite:///"))
                for extra in ("-wal", "-shm"):
                    target.with_name(target.name + extra).unlink(missing_ok=True)
                shutil.copy(self.sqlite_file(per_ward), target)
            else:
                self._copy_schema(self.postgres_schema(per_ward))
        forget_caches(app)

    @staticmethod
    def _copy_schema(source: str) -> None:
        """Every table's rows from the template schema into the app's, and the id sequences after them."""
        with db.engine().begin() as conn:
            tables = conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE'"
                " AND table_name <> 'alembic_version'"), {"s": source}).scalars().all()
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # rows arrive in any order
            for table in tables:  # DELETE, not TRUNCATE: no new files for every table and index
                conn.execute(text(f'DELETE FROM "{table}"'))
                conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{source}"."{table}"'))
            _restart_sequences(conn)


def _restart_sequences(conn) -> None:
    """Every id sequence of the connection's schema restarted after its table's largest id."""
    sequences = conn.execute(text(
        "SELECT c.relname, pg_get_serial_sequence(c.relname, a.attname), a.attname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0"
        " AND pg_get_serial_sequence(c.relname, a.attname) IS NOT NULL")).all()
    for table, sequence, column in sequences:
        conn.execute(text(f"SELECT setval('{sequence}', COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0) + 1,"
                          " false)"))


def _make_demo_schema(admin, schema: str, rows: Path) -> None:
    """A PostgreSQL schema migrated as the app's are, holding every row of the SQLite database ``rows``;
    made under a passing name and renamed at the end, so that the name ``schema`` only ever means it whole."""
    making = f"{schema}_making"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{making}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{making}"'))
    options = _schema_options(making)
    _prepare(PG_URL, options)
    source = create_engine(f"sqlite:///{rows}")
    target = create_engine(normalise_database_url(PG_URL), connect_args=options["connect_args"])
    try:
        with source.connect() as read, target.begin() as write:
            write.execute(text("SET LOCAL session_replication_role = replica"))  # rows arrive in any order
            write.execute(text("SET LOCAL TIME ZONE 'UTC'"))  # SQLite's times are UTC without a zone
            for table in SQLModel.metadata.sorted_tables:
                write.execute(table.delete())
                found = [dict(row) for row in read.execute(select(table)).mappings()]
                if found:
                    write.execute(table.insert(), found)
            _restart_sequences(write)
    finally:
        source.dispose()
        target.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'ALTER SCHEMA "{making}" RENAME TO "{schema}"'))


@pytest.fixture(scope="session")
def demo_templates(request) -> DemoTemplates:
    return DemoTemplates(request)


@pytest.fixture
def load_demo(app, demo_templates) -> Callable[[int], None]:
    """``load_demo(per_ward)`` fills the test's database with the demo, as ``khaosat demo --per-ward N`` would."""
    return lambda per_ward=32: demo_templates.copy_into(app, per_ward)


@pytest.fixture
def solves(monkeypatch) -> list:
    """Every linear program the cell-suppression audit solves in this process (the real solver runs; each call
    is recorded), with the process memo of protected tables emptied before and after."""
    cell_suppression.forget()
    calls: list = []
    solve = cell_suppression._Ranges._solve

    def recorded(self, k, sense):
        calls.append(k)
        return solve(self, k, sense)
    monkeypatch.setattr(cell_suppression._Ranges, "_solve", recorded)
    yield calls
    cell_suppression.forget()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Accounts:
    """Create users and tokens, and log in, as a test needs."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def create(self, role: str, username: str | None = None, password: str = "correct-horse-9") -> str:
        username = username or f"{role}-user"
        with self.app.app_context():
            db.session().add(User(username=username, role=role, password_hash=hash_password(password)))
            db.session().commit()
        return username

    def login(self, role: str, password: str = "correct-horse-9"):
        username = self.create(role, password=password)
        return self.client.post("/accounts/login", data={"username": username, "password": password})

    def token(self, role: str) -> str:
        username = self.create(role, username=f"{role}-api")
        with self.app.app_context():
            user = db.session().scalars(select(User).where(User.username == username)).one()
            return new_token(user)


@pytest.fixture
def accounts(app, client) -> Accounts:
    return Accounts(app, client)
