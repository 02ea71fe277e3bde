"""A survey version's lifecycle (draft, preview, open, closed, archived), its dates, and test responses

``survey_versions.status`` holds the state; ``opens_at``/``closes_at`` the optional dates between which
an open version takes responses; ``source_file`` the name of the uploaded file. Existing versions
become ``open`` (published, not retired: only the newest per survey; older ones ``closed``),
``closed`` (retired) or ``draft``. ``responses.is_test`` marks answers given in a staff preview; ``pending_uploads`` holds a checked
upload until its admin confirms it.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="draft"))
        batch_op.add_column(sa.Column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("source_file", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_survey_versions_status", ["status"])
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_test", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "pending_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("from_file_name", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pending_uploads_token", "pending_uploads", ["token"], unique=True)
    versions = sa.table("survey_versions", sa.column("id", sa.Integer), sa.column("survey_id", sa.Integer),
                        sa.column("version", sa.Integer), sa.column("status", sa.String),
                        sa.column("published_at", sa.DateTime), sa.column("retired_at", sa.DateTime))
    connection = op.get_bind()
    op.execute(versions.update().where(versions.c.retired_at.is_not(None)).values(status="closed"))
    live = connection.execute(sa.select(versions.c.id, versions.c.survey_id).where(
        versions.c.published_at.is_not(None), versions.c.retired_at.is_(None))
        .order_by(versions.c.survey_id, versions.c.version.desc())).all()
    newest: dict[int, int] = {}
    for version_id, survey_id in live:
        newest.setdefault(survey_id, version_id)
    for version_id, _survey_id in live:
        state = "open" if version_id in newest.values() else "closed"
        op.execute(versions.update().where(versions.c.id == version_id).values(status=state))


def downgrade() -> None:
    op.drop_index("ix_pending_uploads_token", table_name="pending_uploads")
    op.drop_table("pending_uploads")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("is_test")
    with op.batch_alter_table("survey_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_versions_status")
        batch_op.drop_column("source_file")
        batch_op.drop_column("closes_at")
        batch_op.drop_column("opens_at")
        batch_op.drop_column("status")
