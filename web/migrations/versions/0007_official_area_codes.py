"""Official GSO area codes, and the code list each stored code belongs to

Every table that stores an area code gets ``code_list``. Rows stored before this revision hold the
draft numbering of vietnam-provinces 2025.10.1 (``draft@2025.10.1``); they are moved to the official
codes (``gso-2025-07@2026.9``) by ``web.area_codes.convert``, which writes a JSON-lines backup of
every row it changes (under the instance folder's ``backups/``) and a CSV report of every row moved,
merged or unplaced next to it. ``khaosat migrate-areas --restore BACKUP`` puts the rows back;
``downgrade`` drops the columns only, as the backup holds the old codes.

Revision ID: 0007
Revises: 0009
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

from surveys import areas
from web import area_codes

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("areas", "responses", "drafts", "population_margins", "ward_assignments", "ward_quotas", "ward_covariates")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:  # rows already stored carry the draft codes
        if any(c["name"] == "code_list" for c in inspector.get_columns(table)):
            continue  # SQLite commits ADD COLUMN at once: an interrupted run left it, its data unchanged
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("code_list", sa.String(length=32), nullable=False,
                                          server_default=areas.DRAFT_LIST))
    backup_dir = context.config.attributes.get("backup_dir") or Path("instance") / "backups"
    report = area_codes.convert(op.get_bind(), Path(backup_dir))
    if report.backup is not None:
        print(f"area codes moved to {areas.CODE_LIST}; backup {report.backup}, report {report.backup.with_suffix('.csv')}")
        for line in area_codes.summary_lines(report):
            print("  " + line)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("code_list", existing_type=sa.String(length=32), existing_nullable=False,
                                  server_default=areas.CODE_LIST)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("code_list")
