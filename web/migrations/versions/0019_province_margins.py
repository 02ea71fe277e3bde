"""Population margins by province x sex x age band, for surveys covering several provinces or the nation

Revision ID: 0019
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "province_margins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("province_code", "sex", "age_band", name="uq_province_margins_cell"),
    )
    op.create_index("ix_province_margins_province_code", "province_margins", ["province_code"])


def downgrade() -> None:
    op.drop_index("ix_province_margins_province_code", table_name="province_margins")
    op.drop_table("province_margins")
