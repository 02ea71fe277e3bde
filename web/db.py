"""The database: one engine per app, one SQLModel session per request, migrations with Alembic.

SQLite (the default) runs with WAL, foreign keys and ``secure_delete`` on; PostgreSQL is used when
``DATABASE_URL`` says so, with research reads on a read replica when ``DATABASE_REPLICA_URL`` names one
(:func:`read_session`). The schema is created and upgraded only by Alembic (``khaosat init-db``).
After an erasure, :func:`forget_erased` makes sure no copy of the erased rows stays in the files.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Table, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, create_engine
from tqdm import tqdm

from analysis.lazy import LazyModule

# Alembic (~0.1 s of CPU) is loaded only by the commands that migrate, not by every web process and worker
command = LazyModule("alembic.command")
alembic = LazyModule("alembic.config")
migration = LazyModule("alembic.runtime.migration")
script_directory = LazyModule("alembic.script")

MIGRATIONS = Path(__file__).parent / "migrations"
#: a pooled PostgreSQL connection idle this long is pinged before use (one that was just used is alive, or the
#: server went away a moment ago, in which case the request fails as it would a moment earlier)
PING_AFTER_IDLE_S = 1.0


def make_engine(url: str, **options) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, **options)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Like ``pool_pre_ping``, but only for a connection idle more than :data:`PING_AFTER_IDLE_S`: under load
    each request reuses a connection given back milliseconds ago, and the ping was a round trip of its own
    (0.2 ms of the app's CPU and one statement of the database's per request). A ping that fails makes the pool
    drop the connection and take another (a server restarted while the pool was idle is not seen by anyone)."""

    def given_back(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def before_use(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) <= PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(str(error)) from error
        if not alive:
            raise exc.DisconnectionError("the ping failed")

    event.listen(engine, "connect", given_back)
    event.listen(engine, "checkin", given_back)
    event.listen(engine, "checkout", before_use)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten with zeros, not left in free pages
    cursor.close()


def insert_new(session: Session, table: Table, *unique: str, returning: tuple[str, ...] = ()) -> Insert:
    """An ``INSERT`` into ``table`` that skips a row whose ``unique`` columns are already stored
    (``ON CONFLICT (…) DO NOTHING``, which PostgreSQL and SQLite both speak), returning the columns
    named in ``returning``; pass the rows as parameters. Built once per statement, so that
    SQLAlchemy's compiled cache finds it without computing a cache key from the values."""
    return _insert_new(session.get_bind().dialect.name, table, unique, returning)


@functools.cache
def _insert_new(dialect: str, table: Table, unique: tuple[str, ...], returning: tuple[str, ...]) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing(index_elements=list(unique))
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def init_app(app: Flask) -> None:
    app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
    if app.config.get("DATABASE_REPLICA_URL"):
        app.extensions["db_replica_engine"] = make_engine(app.config["DATABASE_REPLICA_URL"],
                                                          **app.config.get("REPLICA_ENGINE_OPTIONS", {}))
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def session() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def read_session() -> Session:
    """The request's session for research reads (results, the results API, downloads): on the read
    replica when ``DATABASE_REPLICA_URL`` is set, else :func:`session` itself. Never write through it:
    a replica refuses writes, and what it shows may lag the primary by a moment."""
    replica = current_app.extensions.get("db_replica_engine")
    if replica is None:
        return session()
    if "db_read_session" not in g:
        g.db_read_session = Session(replica, expire_on_commit=False)
    return g.db_read_session


def _close_session(_exc: BaseException | None = None) -> None:
    for name in ("db_session", "db_read_session"):
        db_session = g.pop(name, None)
        if db_session is not None:
            db_session.close()


def forget_erased() -> None:
    """Leave no copy of erased rows in the database files (call it after the erasure is committed).

    SQLite: with ``secure_delete`` the erased rows' pages were zeroed, but the write-ahead log still
    holds the pages as they were; a ``TRUNCATE`` checkpoint copies the log into the database and
    empties it. PostgreSQL keeps dead rows in its data files until ``VACUUM`` reclaims them
    (``khaosat vacuum``, see the README); nothing is done here.
    """
    if engine().dialect.name != "sqlite":
        return
    with engine().connect() as conn:
        busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        current_app.logger.warning("the write-ahead log could not be emptied after an erasure: a reader held it")


def vacuum() -> None:
    """Rewrite the tables that hold answers and personal details, so that erased rows leave the files.

    SQLite: ``VACUUM`` then a ``TRUNCATE`` checkpoint. PostgreSQL: ``VACUUM FULL`` of those tables
    (it locks each table while it is rewritten; run it in a quiet hour).
    """
    tables = ("responses", "drafts", "personal_details")
    with engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine().dialect.name == "sqlite":
            conn.exec_driver_sql("VACUUM")
        else:
            conn.exec_driver_sql("VACUUM FULL " + ", ".join(tables))
    forget_erased()


def alembic_config(engine_: Engine, backup_dir: Path | None = None) -> alembic.Config:
    config = alembic.Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine_
    config.attributes["backup_dir"] = backup_dir
    return config


def upgrade(engine_: Engine, backup_dir: Path | None = None) -> None:
    """Create or migrate the schema to the newest revision; a migration that changes stored data
    writes its backup under ``backup_dir`` (default: the app's instance folder, ``backups/``)."""
    if backup_dir is None:
        backup_dir = Path(current_app.instance_path) / "backups" if current_app else None
    config = alembic_config(engine_, backup_dir)
    pending = _pending(config, engine_)
    # a bar on a terminal only (tqdm's disable=None), so logs and scripts read as before
    with tqdm(total=pending, desc="database migrations", unit="revision", file=sys.stderr,
              disable=None if pending > 1 else True) as bar:
        config.attributes["on_version_apply"] = lambda **_step: bar.update(1)
        command.upgrade(config, "heads")


def _pending(config: alembic.Config, engine_: Engine) -> int:
    """How many revisions an upgrade to the newest will apply."""
    with engine_.connect() as connection:
        current = migration.MigrationContext.configure(connection).get_current_heads()
    script = script_directory.ScriptDirectory.from_config(config)
    return sum(1 for _ in script.iterate_revisions("heads", current or "base"))
