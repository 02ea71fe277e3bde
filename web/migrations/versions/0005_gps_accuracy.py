"""GPS accuracy with the consented location

The interview app sends ``{"lat", "lon", "accuracy_m"}`` when the respondent agrees to their
location being recorded; the position already has its columns on ``personal_details`` (0002).

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("personal_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accuracy_m", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("personal_details", schema=None) as batch_op:
        batch_op.drop_column("accuracy_m")
