"""The database: one engine per app, one SQLModel session per request, migrations with Alembic.

SQLite (the default) runs with WAL, foreign keys and ``secure_delete`` on; PostgreSQL is used when
``DATABASE_URL`` says so. The schema is created and upgraded only by Alembic (``khaosat init-db``).
After an erasure, :func:`forget_erased` makes sure no copy of the erased rows stays in the files.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **options) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **options)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten with zeros, not left in free pages
    cursor.close()


def init_app(app: Flask) -> None:
    app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def session() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
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


def alembic_config(engine_: Engine, backup_dir: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine_
    config.attributes["backup_dir"] = backup_dir
    return config


def upgrade(engine_: Engine, backup_dir: Path | None = None) -> None:
    """Create or migrate the schema to the newest revision; a migration that changes stored data
    writes its backup under ``backup_dir`` (default: the app's instance folder, ``backups/``)."""
    if backup_dir is None:
        backup_dir = Path(current_app.instance_path) / "backups" if current_app else None
    command.upgrade(alembic_config(engine_, backup_dir), "heads")
