"""Each response's row of the full microdata CSV, rendered once and kept (without the final weight), so that
the streamed file of a whole survey only joins them; a trigger marks a row stale whenever the response's
exported content changes, whichever code path changes it

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

#: the columns of ``responses`` a row of the file is made from (``is_excluded`` and ``is_test`` only choose rows)
SOURCES = ("survey_version_id", "ward_code", "channel", "language", "answers", "scores", "stratum", "psu",
           "base_weight", "submitted_at", "revision")

POSTGRES = [
    """CREATE FUNCTION response_csv_stale() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO response_csv (response_id, edits) VALUES (OLD.id, 1)
        ON CONFLICT (response_id) DO UPDATE SET edits = response_csv.edits + 1, stamp = NULL, head = NULL,
            tail = NULL;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER responses_csv_stale AFTER UPDATE OF {', '.join(SOURCES)} ON responses
    FOR EACH ROW EXECUTE FUNCTION response_csv_stale()""",
]

SQLITE = [
    f"""CREATE TRIGGER responses_csv_stale AFTER UPDATE OF {', '.join(SOURCES)} ON responses
    FOR EACH ROW BEGIN
        INSERT OR IGNORE INTO response_csv (response_id, edits) VALUES (OLD.id, 0);
        UPDATE response_csv SET edits = edits + 1, stamp = NULL, head = NULL, tail = NULL
        WHERE response_id = OLD.id;
    END""",
]


def upgrade() -> None:
    op.create_table(
        "response_csv",
        sa.Column("response_id", sa.Integer(), sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("edits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=True),
        sa.Column("head", sa.LargeBinary(), nullable=True),
        sa.Column("tail", sa.LargeBinary(), nullable=True),
        sa.Column("stream", sa.String(length=16), server_default="", nullable=False),
        sa.Column("sex", sa.String(length=64), server_default="", nullable=False),
        sa.Column("age_band", sa.String(length=64), server_default="", nullable=False),
    )
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS responses_csv_stale" + (" ON responses" if op.get_bind().dialect.name
                                                                == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS response_csv_stale()")
    op.drop_table("response_csv")
