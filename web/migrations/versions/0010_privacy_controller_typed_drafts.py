"""Privacy notice settings per survey, and drafts that keep what was typed

``surveys.controller`` and ``surveys.privacy_contact`` name the personal data controller and how to
reach them in the privacy notice (Law 91/2025/QH15); a version is not published without them.
``drafts.typed`` keeps answers that failed the page's check as they were typed, so a resume code
brings back exactly what was on screen.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("controller", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("privacy_contact", sa.String(length=300), nullable=True))
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("typed", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("typed")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("privacy_contact")
        batch_op.drop_column("controller")
