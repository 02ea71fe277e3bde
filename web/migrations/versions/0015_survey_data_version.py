"""A version number of each survey's responses, and weighted designs shared between workers

``surveys.data_version`` goes up by one whenever a survey's responses change other than by a new
response (an exclusion or rejection in review, an edit, an erasure), in the same transaction. Cached
weights and results compare it (and the newest response id) instead of scanning the responses.

``weight_snapshots`` keeps the last weighted design of each survey (Parquet), so that a second worker
process serves it without reading the responses and raking again (Redis does this when configured).

Revision ID: 0015
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "weight_snapshots",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("frame", sa.LargeBinary(), nullable=False),
        sa.Column("diagnostics", sa.LargeBinary(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("weight_snapshots")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("data_version")
