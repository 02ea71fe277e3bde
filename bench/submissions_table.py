"""Benchmark: a filtered page of the submissions table over 1,000,000 responses on PostgreSQL.

Usage::

    python bench/submissions_table.py --url postgresql://postgres@127.0.0.1:5432/test [--rows 1000000] [--keep]

Creates a schema of its own (dropped at the end unless ``--keep``), migrates it, publishes the
built-in surveys, makes 40 volunteers, COPY-loads ``--rows`` responses (126 wards, three versions,
both channels, 120 days, review statuses about 80/10/5/5 %, 6% of responses with a stored quality
flag), runs VACUUM ANALYZE (as autovacuum would), then times the table's own query (:func:`web.admin.listing.page`: the page of
50 and the capped count, two statements) for typical filters: median and worst of 7 runs after a
warm-up, and prints the indexes PostgreSQL's EXPLAIN chose. The project's budget for the page: <= 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import select  # noqa: E402
from tqdm import tqdm  # noqa: E402

from surveys import areas  # noqa: E402
from web import catalog, create_app, db  # noqa: E402
from web.admin import listing  # noqa: E402
from web.config import normalise_database_url  # noqa: E402
from web.models import SurveyVersion, User  # noqa: E402

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
STATUSES = np.array(["not_reviewed", "approved", "on_hold", "rejected"])
FLAGS = np.array(["too_fast", "straight_lined", "duplicate", "outside_assignment", "overlap"])
COLUMNS = ("uuid", "survey_version_id", "ward_code", "channel", "language", "answers", "scores", "meta",
           "content_hash", "base_weight", "volunteer_id", "submitted_at", "is_excluded", "review_status", "revision")


def load(conn, rows: int, versions: list[int], volunteers: list[int], wards: list[int], seed: int = 1) -> None:
    """COPY ``rows`` responses and their flags, in chunks of 200,000."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    chunk = 200_000
    with conn.cursor() as cur:
        for first in tqdm(range(0, rows, chunk), desc=f"responses ({rows:,}, COPY)", unit="chunk", file=sys.stderr,
                          disable=None):
            n = min(chunk, rows - first)
            ward = rng.choice(wards, n)
            version = rng.choice(versions, n)
            volunteer = rng.choice(volunteers, n)
            channel = np.where(rng.random(n) < 0.7, "interview", "self")
            status = STATUSES[np.searchsorted([0.8, 0.9, 0.95], rng.random(n), side="right")]
            seconds = np.sort(rng.integers(0, 120 * 86400, n)) + first * 10
            buffer = io.StringIO()
            for i in range(n):
                interview = channel[i] == "interview"
                buffer.write("\t".join((
                    uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | first + i).hex, str(version[i]), str(ward[i]),
                    channel[i], "vi", f'{{"ward": {ward[i]}}}', "{}", "{}", "x" * 64, "1.0",
                    str(volunteer[i]) if interview else "\\N",
                    (start + dt.timedelta(seconds=int(seconds[i]))).isoformat(),
                    "t" if status[i] == "rejected" else "f", status[i], "0")) + "\n")
            with cur.copy(f"COPY responses ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        cur.execute("SELECT min(id), max(id) FROM responses")
        low, high = cur.fetchone()
        flagged = rng.choice(np.arange(low, high + 1), int(rows * 0.06), replace=False)
        buffer = io.StringIO()
        now = dt.datetime.now(dt.UTC).isoformat()
        for rid in flagged:
            buffer.write(f"{rid}\t{FLAGS[rid % len(FLAGS)]}\t{now}\n")
        with cur.copy("COPY response_flags (response_id, flag, created_at) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
    conn.commit()
    conn.autocommit = True  # VACUUM, as autovacuum would soon after such a load: visibility map, statistics
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE responses")
        cur.execute("VACUUM ANALYZE response_flags")
    conn.autocommit = False


def cases(survey_id: int, ward: int, volunteer: int) -> dict[str, listing.Filters]:
    f = listing.Filters
    return {
        "no filter (newest first)": f(),
        "survey + status not reviewed": f(survey_id=survey_id, status="not_reviewed"),
        "survey + version 1 + ward": f(survey_id=survey_id, version=1, ward=ward),
        "ward + volunteer + interview": f(ward=ward, volunteer=volunteer, channel="interview"),
        "date range (one week, Hà Nội)": f(since=dt.date(2026, 9, 1), until=dt.date(2026, 9, 7)),
        "flag too fast": f(flag="too_fast"),
        "flag + status on hold": f(flag="outside_assignment", status="on_hold"),
        "status rejected, sorted by ward": f(status="rejected", sort="ward"),
        "survey, page 100": f(survey_id=survey_id, page=100),
        "response id search": f(q="123456"),
        "supervisor scope (3 wards) + status": f(status="not_reviewed"),
    }


def indexes(session, filters: listing.Filters, scope) -> list[str]:
    """The indexes in PostgreSQL's plan of the page query."""
    query = listing.statements(session, filters, scope, ZONE).ids
    compiled = query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    plan = "\n".join(r[0] for r in session.connection().exec_driver_sql(f"EXPLAIN {compiled}"))
    return sorted(set(re.findall(r"(?:Index|Index Only|Bitmap Index) Scan (?:Backward )?(?:using|on) (\w+)", plan)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="PostgreSQL URL")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the schema (and reuse it with --schema)")
    parser.add_argument("--schema", default=None, help="an existing schema from --keep: skip the load")
    args = parser.parse_args()
    schema = args.schema or f"bench_subtable_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(args.url))
    if not args.schema:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    app = create_app({"DATABASE_URL": args.url, "ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
                      "SECRET_KEY": "bench"})
    try:
        with app.app_context():
            session = db.session()
            if not args.schema:
                db.upgrade(db.engine())
                catalog.publish_builtin(session)
                for i in range(40):
                    session.add(User(username=f"vol{i:02d}", role="volunteer", password_hash="x"))
                session.commit()
                versions = list(session.exec(select(SurveyVersion.id)).all())
                volunteers = list(session.exec(select(User.id)).all())
                wards = sorted(w.code for w in areas.wards(areas.HANOI))
                began = time.perf_counter()
                raw = db.engine().raw_connection()
                try:
                    load(raw.driver_connection, args.rows, versions, volunteers, wards[:126])
                    raw.commit()
                finally:
                    raw.close()
                print(f"loaded {args.rows:,} responses in {time.perf_counter() - began:.1f} s (schema {schema})")
            version = session.get(SurveyVersion, 1)
            ward = session.connection().exec_driver_sql("SELECT ward_code FROM responses ORDER BY id LIMIT 1").scalar()
            volunteer = session.connection().exec_driver_sql(
                "SELECT volunteer_id FROM responses WHERE volunteer_id IS NOT NULL ORDER BY id LIMIT 1").scalar()
            wards3 = set(session.connection().exec_driver_sql(
                "SELECT DISTINCT ward_code FROM responses ORDER BY ward_code LIMIT 3").scalars())
            print(f"{'filter':38} {'median':>8} {'worst':>8} {'rows':>7}  indexes")
            for name, filters in cases(version.survey_id, ward, volunteer).items():
                scope = wards3 if name.startswith("supervisor") else None
                listing.page(session, filters, scope, ZONE)
                times = []
                for _ in range(7):
                    began = time.perf_counter()
                    result = listing.page(session, filters, scope, ZONE)
                    times.append((time.perf_counter() - began) * 1000)
                total = f"{result.total:,}{'+' if result.more else ''}"
                print(f"{name:38} {statistics.median(times):6.1f}ms {max(times):6.1f}ms {total:>7}  "
                      f"{', '.join(indexes(session, filters, scope))}")
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
