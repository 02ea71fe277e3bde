"""The former district (before July 2025) of each weighting cell's ward, for a survey estimated by the database to be
grouped by it (web.research.in_database)

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("weight_cells") as batch:
        batch.add_column(sa.Column("former_district", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("weight_cells") as batch:
        batch.drop_column("former_district")
