"""Quality flags on arrival from indexes: an interview's end time as a column, a volunteer's responses by id
and by content

A new interview is judged against the same volunteer's earlier ones: an overlap with one of their 50
newest (read through ``(volunteer_id, id)``: four small columns, where the answers and paradata of all 50
were decoded before), and a duplicate among all of them (``(volunteer_id, content_hash)``: one index
probe). ``ended_at`` is the end time the phone sent in ``meta.ended_at``, in UTC, filled in here for the
responses stored before (a batch at a time). The index on ``(volunteer_id, id)`` replaces the one on
``volunteer_id`` alone.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

from web.client_times import parse_timestamp

revision = "0023"
down_revision = "0019"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not any(c["name"] == "ended_at" for c in inspector.get_columns("responses")):
        with op.batch_alter_table("responses", schema=None) as batch_op:  # SQLite commits ADD COLUMN at once
            batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    _fill_ended_at(op.get_bind())
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_volunteer_id")
        batch_op.create_index("ix_responses_volunteer_order", ["volunteer_id", "id"], unique=False)
        batch_op.create_index("ix_responses_volunteer_content", ["volunteer_id", "content_hash"], unique=False)


def _fill_ended_at(conn) -> None:
    """``ended_at`` from each stored response's paradata, where it holds a valid time."""
    responses = sa.table("responses", sa.column("id", sa.Integer), sa.column("meta", sa.JSON),
                         sa.column("ended_at", sa.DateTime(timezone=True)))
    change = responses.update().where(responses.c.id == sa.bindparam("row_id")).values(
        ended_at=sa.bindparam("ended"))
    last = 0
    while True:
        rows = conn.execute(sa.select(responses.c.id, responses.c.meta).where(
            responses.c.id > last, responses.c.meta["ended_at"].as_string().is_not(None))
            .order_by(responses.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        ended = [{"row_id": row.id, "ended": parse_timestamp((row.meta or {}).get("ended_at"))} for row in rows]
        ended = [e for e in ended if e["ended"] is not None]
        if ended:
            conn.execute(change, ended)


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_volunteer_content")
        batch_op.drop_index("ix_responses_volunteer_order")
        batch_op.create_index("ix_responses_volunteer_id", ["volunteer_id"], unique=False)
        batch_op.drop_column("ended_at")
