"""Login sessions kept on the server, tokens that expire, and responses kept after a conflict

``user_sessions`` holds one row per login; the cookie names it and every request checks it, so a
logout, a password reset, a role change or a deactivation ends it on the server. ``api_tokens``
gains the login that issued a collection-app token (the token works only while it does) and an
expiry (a script's token lapses after 30 days unless renewed; existing tokens get 30 days from
this upgrade). ``responses.conflict_of`` links an interview a volunteer kept after a 409 to the
response it clashed with.

Revision ID: 0008
Revises: 0007
"""

import datetime as dt

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_index("ix_user_sessions_sid_hash", "user_sessions", ["sid_hash"], unique=True)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_api_tokens_session_id", ["session_id"], unique=False)
        batch_op.create_foreign_key("fk_api_tokens_session_id", "user_sessions", ["session_id"], ["id"])
    lapse = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    tokens = sa.table("api_tokens", sa.column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime()))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=lapse))
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conflict_of", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("conflict_of")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("fk_api_tokens_session_id", type_="foreignkey")
        batch_op.drop_index("ix_api_tokens_session_id")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("session_id")
    op.drop_index("ix_user_sessions_sid_hash", table_name="user_sessions")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
