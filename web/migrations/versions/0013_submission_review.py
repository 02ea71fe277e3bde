"""Review of submissions: status and note, corrections with their history, stored quality flags

``responses.review_status`` (not_reviewed, approved, on_hold, rejected; a response excluded before is
rejected), its note, reviewer and time; ``responses.revision`` counts staff corrections. Two indexes
serve the submissions table (newest first within a status, within a ward).
``response_flags`` keeps each response's quality flags, indexed by flag; ``response_edits`` each
corrected answer (old and new value, who, when, why).

Revision ID: 0013
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_status", sa.String(length=16), nullable=False,
                                      server_default="not_reviewed"))
        batch_op.add_column(sa.Column("review_note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_foreign_key("fk_responses_reviewed_by_users", "users", ["reviewed_by"], ["id"])
        batch_op.create_index("ix_responses_status_submitted", ["review_status", "submitted_at", "id"])
        batch_op.create_index("ix_responses_ward_submitted", ["ward_code", "submitted_at", "id"])
    op.execute("UPDATE responses SET review_status = 'rejected' WHERE is_excluded")
    if op.get_bind().dialect.name == "postgresql":  # the table's search by the start of a uuid (LIKE 'abc%')
        op.execute("CREATE INDEX ix_responses_uuid_prefix ON responses (uuid varchar_pattern_ops)")
    op.create_table(
        "response_flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("response_id", sa.Integer(), sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("response_id", "flag", name="uq_response_flags_response_flag"),
    )
    op.create_index("ix_response_flags_flag_response", "response_flags", ["flag", "response_id"])
    op.create_table(
        "response_edits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("response_id", sa.Integer(), sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=120), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("editor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("editor_name", sa.String(length=64), nullable=False),
        sa.Column("edited_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_response_edits_response_id", "response_edits", ["response_id"])


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_responses_uuid_prefix")
    op.drop_index("ix_response_edits_response_id", table_name="response_edits")
    op.drop_table("response_edits")
    op.drop_index("ix_response_flags_flag_response", table_name="response_flags")
    op.drop_table("response_flags")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_ward_submitted")
        batch_op.drop_index("ix_responses_status_submitted")
        batch_op.drop_constraint("fk_responses_reviewed_by_users", type_="foreignkey")
        for column in ("revision", "reviewed_at", "reviewed_by", "review_note", "review_status"):
            batch_op.drop_column(column)
