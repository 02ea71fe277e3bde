"""Alembic environment: migrate the engine handed over by ``web.db.upgrade``."""

from alembic import context
from sqlmodel import SQLModel

import web.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            on_version_apply=config.attributes.get("on_version_apply"),  # web.db.upgrade's progress bar
        )
        context.run_migrations()


run_migrations_online()
