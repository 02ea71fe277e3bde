"""population margins for weighting

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "population_margins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("age_band", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ward_code", "sex", "age_band", name="uq_population_margins_cell"),
    )
    with op.batch_alter_table("population_margins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_population_margins_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_population_margins_ward_code"), ["ward_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("population_margins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_population_margins_ward_code"))
        batch_op.drop_index(batch_op.f("ix_population_margins_province_code"))
    op.drop_table("population_margins")
