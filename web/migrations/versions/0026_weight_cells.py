"""The served weights of a survey estimated by the database, one row a weighting cell, for the database to join to
its responses (a survey over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD``: web.research.in_database)

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "weight_cells",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=64), nullable=False),
        sa.Column("age_band", sa.String(length=64), nullable=False),
        sa.Column("base_weight", sa.Float(), nullable=True),
        sa.Column("province_code", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
    )
    op.create_index("ix_weight_cells_key", "weight_cells", ["key"])


def downgrade() -> None:
    op.drop_table("weight_cells")
