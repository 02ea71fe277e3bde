"""The submissions table's filtered pages read from their indexes, and fewer indexes written per submission

At 10,000,000 responses four filters of the table took over its 300 ms budget (0.4-1.5 s), because each
candidate an index gave had its row read to test the other filters: a ward's responses (79,000) for the
survey version, volunteer, channel or status, and the "on hold" ones (500,000) for ``is_test`` before their
flags were matched. On PostgreSQL the table's two indexes now carry those columns (``INCLUDE``), so a page and
its capped count are index-only scans, and rows are read only for the 50 shown (``bench/submissions_table.py``):

- ``ix_responses_ward_submitted`` (ward, time, id) includes the version, volunteer, channel, status and
  ``is_test``;
- ``ix_responses_status_submitted`` (status, time, id) includes ``is_test``.

Every submission writes each index of ``responses``, so two that duplicate others go:

- ``ix_responses_ward_code``: ``ix_responses_ward_submitted`` begins with the ward and serves what it served;
- on PostgreSQL, ``ix_responses_uuid_prefix`` (``varchar_pattern_ops``, the search by the start of a uuid):
  the unique index on ``uuid`` is made with that operator class instead, which keeps uniqueness, the
  retry's ``ON CONFLICT (uuid)`` and lookups by the whole uuid, and serves ``LIKE 'abc%'`` too.

The indexes are rebuilt in the migration's transaction, which holds ``responses`` locked until it commits:
submissions and every page that reads responses wait meanwhile (13-26 s an index at 10,000,000 responses on a
slow 2-core host with ``maintenance_work_mem`` at 512 MB, longer at the default 64 MB; bench/RESULTS.md).

Revision ID: 0025
Revises: 0024
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

POSTGRES_UP = [
    "DROP INDEX ix_responses_ward_code",
    "DROP INDEX ix_responses_ward_submitted",
    "CREATE INDEX ix_responses_ward_submitted ON responses (ward_code, submitted_at, id) "
    "INCLUDE (survey_version_id, volunteer_id, channel, review_status, is_test)",
    "DROP INDEX ix_responses_status_submitted",
    "CREATE INDEX ix_responses_status_submitted ON responses (review_status, submitted_at, id) INCLUDE (is_test)",
    "DROP INDEX ix_responses_uuid",
    "CREATE UNIQUE INDEX ix_responses_uuid ON responses (uuid varchar_pattern_ops)",
    "DROP INDEX ix_responses_uuid_prefix",
]

POSTGRES_DOWN = [
    "CREATE INDEX ix_responses_uuid_prefix ON responses (uuid varchar_pattern_ops)",
    "DROP INDEX ix_responses_uuid",
    "CREATE UNIQUE INDEX ix_responses_uuid ON responses (uuid)",
    "DROP INDEX ix_responses_status_submitted",
    "CREATE INDEX ix_responses_status_submitted ON responses (review_status, submitted_at, id)",
    "DROP INDEX ix_responses_ward_submitted",
    "CREATE INDEX ix_responses_ward_submitted ON responses (ward_code, submitted_at, id)",
    "CREATE INDEX ix_responses_ward_code ON responses (ward_code)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)
    else:  # SQLite has no INCLUDE; the ward index alone goes
        op.drop_index("ix_responses_ward_code", table_name="responses")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
    else:
        op.create_index("ix_responses_ward_code", "responses", ["ward_code"])
