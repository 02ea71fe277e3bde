"""Visits sent from the phone are stored once (a unique key per visit); a sampled household keeps the number
of adults listed and the interviewed adult's selection probability

Revision ID: 0017
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uuid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_visits_uuid", ["uuid"])
    with op.batch_alter_table("sampled_households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adults", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("adult_probability", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sampled_households", schema=None) as batch_op:
        batch_op.drop_column("adult_probability")
        batch_op.drop_column("adults")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint("uq_visits_uuid", type_="unique")
        batch_op.drop_column("uuid")
