"""What the indexes of ``responses`` serve on PostgreSQL: the submissions table's filtered pages read from an
index alone (bench/submissions_table.py measures the time; these tests check the plans that give it)."""

from __future__ import annotations

import re
import time
from zoneinfo import ZoneInfo

from sqlmodel import select

from tests.conftest import ON_POSTGRESQL
from web import db
from web.admin import listing
from web.models import SurveyVersion, User

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


#: filters of the table whose pages once read a row for each candidate (0.4-1.5 s at 10,000,000 responses,
#: bench/submissions_table.py); the values are those of the 40,000 responses the test below makes
READ_FROM_INDEXES = {
    "ward + volunteer + interview": dict(ward=1007, channel="interview"),  # and a volunteer
    "ward + version": dict(ward=1007, version=1),
    "rejected, sorted by ward": dict(status="rejected", sort="ward"),
    "flag + on hold": dict(flag="outside_assignment", status="on_hold"),
}


@ON_POSTGRESQL
def test_filtered_pages_read_responses_only_for_the_rows_shown(app, accounts):
    """On PostgreSQL a filtered page and its count come from an index alone (no row read per candidate), and a
    search by a uuid's start and a retry's ``ON CONFLICT (uuid)`` use the one unique index on ``uuid``."""
    for i in range(20):
        accounts.create("volunteer", f"vol{i}")
    with app.app_context():
        session = db.session()
        version = session.exec(select(SurveyVersion).order_by(SurveyVersion.id)).first()
        volunteers = session.exec(select(User.id).where(User.username.startswith("vol")).order_by(User.id)).all()
        volunteer = volunteers[7]
        conn = session.connection()
        many_responses(session, version.id, volunteers, 40_000)
        vacuum(("responses", "response_flags"))  # as autovacuum would: statistics and the visibility map
        # at 10,000,000 rows PostgreSQL chooses these plans itself; at 40,000 reading a bitmap of rows costs as
        # little, so it is told not to: what is checked is that the indexes hold all a page needs
        conn = session.connection()
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")
        for name, values in READ_FROM_INDEXES.items():
            filters = listing.Filters(**values, **({"volunteer": volunteer} if "volunteer" in name else {}))
            run = listing.statements(session, filters, None, ZONE)
            for query in (run.ids, run.count):
                plan = explain(session, query)
                scans = re.findall(r"(Index Only Scan|Index Scan|Seq Scan)(?: Backward)?(?: using (\w+))? on responses",
                                   plan)
                assert scans and all(kind == "Index Only Scan" and index in LISTING_INDEXES for kind, index in scans), \
                    (name, plan)
                assert heap_fetches(plan) == [0] * len(scans), (name, plan)
            page = listing.page(session, filters, None, ZONE)
            expected = conn.exec_driver_sql(
                "SELECT count(*) FROM responses r WHERE NOT is_test" + {
                    "ward + volunteer + interview": f" AND ward_code = 1007 AND volunteer_id = {volunteer} "
                                                    "AND channel = 'interview'",
                    "ward + version": f" AND ward_code = 1007 AND survey_version_id = {version.id}",
                    "rejected, sorted by ward": " AND review_status = 'rejected'",
                    "flag + on hold": " AND review_status = 'on_hold' AND EXISTS (SELECT 1 FROM response_flags f "
                                      "WHERE f.response_id = r.id AND f.flag = 'outside_assignment')"}[name]).scalar()
            assert page.total == min(expected, listing.COUNT_CAP) and len(page.rows) == min(expected, 50) > 0, name
        plan = explain(session, listing.selection(session, listing.Filters(q="c4ca4"), None, ZONE))
        assert "using ix_responses_uuid on responses" in plan, plan
        found = listing.page(session, listing.Filters(q="c4ca4"), None, ZONE)  # md5('1') = c4ca4238...
        assert [r.uuid for r in found.rows] == ["c4ca4238a0b923820dcc509a6f75849b"]
        names = set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'responses' "
                                         "AND schemaname = current_schema()").scalars())
        assert {"ix_responses_ward_code", "ix_responses_uuid_prefix"}.isdisjoint(names)


LISTING_INDEXES = {"ix_responses_ward_submitted", "ix_responses_status_submitted"}


def many_responses(session, version_id: int, volunteers: list[int], count: int) -> None:
    """``count`` responses over 40 wards, interviews by ``volunteers`` (a third are residents' own), four review statuses, one minute apart; 6% flagged "outside assignment"; committed so that VACUUM can
    mark them visible (the test schema commits without waiting for the disk)."""
    conn = session.connection()
    conn.exec_driver_sql(
        "INSERT INTO responses (uuid, survey_version_id, ward_code, channel, language, answers, scores, meta, "
        "content_hash, base_weight, volunteer_id, submitted_at, review_status, is_test) "
        f"SELECT md5(g::text), {version_id}, 1000 + mod(abs(hashtext(g::text)), 40), "
        "CASE WHEN mod(g, 3) = 0 THEN 'self' ELSE 'interview' END, 'vi', '{}', '{}', '{}', md5(g::text), 1.0, "
        f"CASE WHEN mod(g, 3) = 0 THEN NULL ELSE (ARRAY{list(volunteers)})[1 + mod(abs(hashtext(g || 'v')), "
        f"{len(volunteers)})] END, "
        "now() - g * interval '1 minute', "
        "(ARRAY['not_reviewed', 'approved', 'on_hold', 'rejected'])[1 + mod(abs(hashtext(g || 's')), 4)], "
        f"mod(g, 997) = 0 FROM generate_series(1, {count}) AS g")
    conn.exec_driver_sql("INSERT INTO response_flags (response_id, flag, created_at) "
                         "SELECT id, 'outside_assignment', now() FROM responses WHERE mod(id, 17) = 0")
    conn.exec_driver_sql("SET LOCAL synchronous_commit = on")  # VACUUM marks rows visible once they are on disk
    session.commit()


def vacuum(tables: tuple[str, ...], timeout: float = 120) -> None:
    """VACUUM ANALYZE ``tables`` until each page is marked all-visible: a page whose rows are newer than another
    transaction still open on the server (the other xdist worker's, a demo being seeded) is marked on a later
    pass, once that transaction ends."""
    deadline = time.monotonic() + timeout
    with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while True:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            visible = conn.exec_driver_sql(
                "SELECT bool_and(relallvisible >= relpages) FROM pg_class WHERE oid = ANY(%(tables)s::regclass[])",
                {"tables": list(tables)}).scalar()
            if visible or time.monotonic() > deadline:
                return
            time.sleep(0.2)


def heap_fetches(plan: str) -> list[int]:
    """The rows of ``responses`` each index-only scan of it in ``plan`` still read from the table."""
    fetched, table = [], None
    for line in plan.splitlines():
        if " Scan " in line:
            table = re.search(r" on (\w+)", line).group(1)
        elif "Heap Fetches:" in line and table == "responses":
            fetched.append(int(line.split(":")[1]))
    return fetched


def explain(session, query) -> str:
    """PostgreSQL's plan of ``query``, run (EXPLAIN ANALYZE: heap fetches counted)."""
    sql = query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return "\n".join(row[0] for row in session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE) {sql}"))
