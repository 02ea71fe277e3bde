"""ward covariates for small-area estimation

Revision ID: 0009
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ward_covariates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("label_vi", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("label_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("province_code", "name", "ward_code", name="uq_ward_covariates_value"),
    )
    with op.batch_alter_table("ward_covariates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ward_covariates_province_code"), ["province_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ward_covariates_ward_code"), ["ward_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ward_covariates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ward_covariates_ward_code"))
        batch_op.drop_index(batch_op.f("ix_ward_covariates_province_code"))
    op.drop_table("ward_covariates")
