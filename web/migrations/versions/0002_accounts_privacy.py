"""accounts, privacy and fieldwork administration

Ward assignments and quotas, the audit log, personal details kept apart from answers, and on
responses: the quality-review exclusion flag and the respondent's erase code.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ward_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "ward_code", name="uq_ward_assignments_user_ward"),
    )
    with op.batch_alter_table("ward_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ward_assignments_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ward_assignments_ward_code"), ["ward_code"], unique=False)

    op.create_table(
        "ward_quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "ward_code", name="uq_ward_quotas_survey_ward"),
        sa.CheckConstraint("target >= 0", name="ck_ward_quotas_target_not_negative"),
    )
    with op.batch_alter_table("ward_quotas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ward_quotas_survey_id"), ["survey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ward_quotas_ward_code"), ["ward_code"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_created_at"), ["created_at"], unique=False)

    op.create_table(
        "personal_details",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("location_consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("(latitude IS NULL AND longitude IS NULL) OR location_consent",
                           name="ck_personal_details_location_needs_consent"),
    )
    with op.batch_alter_table("personal_details", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_details_response_id"), ["response_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_personal_details_created_at"), ["created_at"], unique=False)

    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_excluded", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("erase_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_responses_erase_code"), ["erase_code"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responses_erase_code"))
        batch_op.drop_column("erase_code")
        batch_op.drop_column("is_excluded")
    op.drop_table("personal_details")
    op.drop_table("audit_events")
    op.drop_table("ward_quotas")
    op.drop_table("ward_assignments")
