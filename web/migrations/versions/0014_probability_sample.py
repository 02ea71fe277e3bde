"""A probability sample: frames of residential groups and households, draws, sampled households, visits, survey rounds;
responses know the sampled household they came from

Revision ID: 0014
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "frame_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("code_list", S(length=32), server_default="gso-2025-07@2026.9", nullable=False),
        sa.Column("group_code", S(length=40), nullable=False),
        sa.Column("name", S(length=200), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("source", S(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", WHEN(), nullable=False),
        sa.CheckConstraint("households > 0", name="ck_frame_groups_households_positive"),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ward_code", "group_code", name="uq_frame_groups_ward_group"),
    )
    op.create_index("ix_frame_groups_province_code", "frame_groups", ["province_code"])
    op.create_index("ix_frame_groups_ward_code", "frame_groups", ["ward_code"])
    op.create_table(
        "frame_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("address", S(length=300), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["frame_groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "position", name="uq_frame_households_position"),
    )
    op.create_index("ix_frame_households_group_id", "frame_households", ["group_id"])
    op.create_table(
        "sample_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("groups_per_ward", sa.JSON(), nullable=False),
        sa.Column("households_per_group", sa.Integer(), nullable=False),
        sa.Column("adult_rule", S(length=16), nullable=False),
        sa.Column("oversample", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sample_draws_survey_id", "sample_draws", ["survey_id"])
    op.create_table(
        "sampled_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("ward_code", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("address", S(length=300), nullable=False),
        sa.Column("group_probability", sa.Float(), nullable=False),
        sa.Column("household_probability", sa.Float(), nullable=False),
        sa.Column("adult_draw", sa.Float(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("final_code", S(length=8), nullable=True),
        sa.Column("response_uuid", S(length=64), nullable=True),
        sa.ForeignKeyConstraint(["draw_id"], ["sample_draws.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["frame_groups.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["frame_households.id"]),
        sa.ForeignKeyConstraint(["volunteer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("draw_id", "group_id", "ward_code", "volunteer_id"):
        op.create_index(f"ix_sampled_households_{column}", "sampled_households", [column])
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("code", S(length=8), nullable=False),
        sa.Column("visited_at", WHEN(), nullable=False),
        sa.Column("callback_at", WHEN(), nullable=True),
        sa.Column("note", S(length=300), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["sampled_households.id"]),
        sa.ForeignKeyConstraint(["volunteer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visits_household_id", "visits", ["household_id"])
    op.create_table(
        "survey_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", S(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_survey_rounds_dates"),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "number", name="uq_survey_rounds_number"),
    )
    op.create_index("ix_survey_rounds_survey_id", "survey_rounds", ["survey_id"])


def downgrade() -> None:
    op.drop_index("ix_survey_rounds_survey_id", table_name="survey_rounds")
    op.drop_table("survey_rounds")
    op.drop_index("ix_visits_household_id", table_name="visits")
    op.drop_table("visits")
    for column in ("draw_id", "group_id", "ward_code", "volunteer_id"):
        op.drop_index(f"ix_sampled_households_{column}", table_name="sampled_households")
    op.drop_table("sampled_households")
    op.drop_index("ix_sample_draws_survey_id", table_name="sample_draws")
    op.drop_table("sample_draws")
    op.drop_index("ix_frame_households_group_id", table_name="frame_households")
    op.drop_table("frame_households")
    op.drop_index("ix_frame_groups_ward_code", table_name="frame_groups")
    op.drop_index("ix_frame_groups_province_code", table_name="frame_groups")
    op.drop_table("frame_groups")
