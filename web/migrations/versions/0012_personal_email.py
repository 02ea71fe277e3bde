"""An e-mail address among a respondent's personal details

``personal_details.email`` keeps the answer to an ``email`` question, apart from the answers, as
``phone`` keeps a ``phone`` question's.

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("personal_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("personal_details", schema=None) as batch_op:
        batch_op.drop_column("email")
