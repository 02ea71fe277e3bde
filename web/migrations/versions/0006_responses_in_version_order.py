"""Responses indexed by survey version and id

Exports and analysis read one survey version's responses oldest first. With an index on
``(survey_version_id, id)`` the database gives them in that order as it finds them; with the index
on ``survey_version_id`` alone PostgreSQL sorted every response of the version (on disk, 200 MB for
100,000 responses) before the first row of a download. The new index replaces that one. This
revision also joins the two branches (0004 and 0005) into one head.

Revision ID: 0006
Revises: 0004, 0005
"""

from alembic import op

revision = "0006"
down_revision = ("0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index("ix_responses_version_order", ["survey_version_id", "id"], unique=False)
        batch_op.drop_index("ix_responses_survey_version_id")


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index("ix_responses_survey_version_id", ["survey_version_id"], unique=False)
        batch_op.drop_index("ix_responses_version_order")
