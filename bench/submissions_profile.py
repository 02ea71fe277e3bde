"""Where a submission's CPU goes: submissions sent in one process through Flask's test client.

Prepares a database as bench/submissions_load.py does (the same kind of volunteers and answers, 4
volunteers), then, after ``--warm-up`` unmeasured submissions, sends ``--batches`` batches of ``--count``
one after another, and prints the CPU each cost this process (the app, including Flask's test client)
and, on PostgreSQL, the database backend that served it (from ``/proc``), batch by batch, the least and
the median; ``--cprofile N`` then profiles one more batch (CPU time) and prints the N functions with most
time of their own and below them.

    .venv/bin/python bench/submissions_profile.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/khaosat_submit
    .venv/bin/python bench/submissions_profile.py --answers same --cprofile 40
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import text  # noqa: E402
from submissions_load import (  # noqa: E402 - bench scripts import their sibling
    cleanup,
    cpu_seconds,
    prepare_workload,
)

from web import create_app, db  # noqa: E402 - after submissions_load, which puts the repository on sys.path


def backend_pid(app) -> int | None:
    """The PostgreSQL backend of the app's one pooled connection (None on SQLite)."""
    with app.app_context():
        if db.engine().dialect.name != "postgresql":
            return None
        with db.engine().connect() as conn:
            return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL (own schema) instead of SQLite")
    parser.add_argument("--answers", choices=["varied", "same"], default="varied")
    parser.add_argument("--count", type=int, default=200, help="submissions in a batch")
    parser.add_argument("--batches", type=int, default=5, help="batches measured one after another")
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the top N functions")
    parser.add_argument("--dump", metavar="FILE", help="with --cprofile: also write the profile to FILE (pstats)")
    parser.add_argument("--callees", metavar="NAME", help="with --cprofile: print what functions matching NAME call")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="khaosat-profile-"))
    url, schema = (args.postgres, f"bench_{uuid.uuid4().hex[:8]}") if args.postgres else (
        f"sqlite:///{workdir / 'bench.sqlite'}", None)
    workload = prepare_workload(url, schema, volunteers=4, answers=args.answers)
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    app = create_app({"DATABASE_URL": url, "ENGINE_OPTIONS": options,
                      "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench"})
    client = app.test_client()
    try:
        bodies = iter(workload.bodies())
        send(client, bodies, args.warm_up)
        pid = backend_pid(app)
        batches = [measure(client, bodies, args.count, pid) for _ in range(args.batches)]
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU, not waits
        if profiler:
            profiler.enable()
            statuses = send(client, bodies, args.count)
            profiler.disable()
    finally:
        with app.app_context():
            db.engine().dispose()
        cleanup(url, schema, workdir)
    report(args, schema, batches)
    if profiler:
        print(f"under cProfile: {args.count} submissions, statuses {statuses}")
        if args.dump:
            profiler.dump_stats(args.dump)
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.cprofile)
        stats.sort_stats("cumulative").print_stats(args.cprofile)
        if args.callees:
            stats.print_callees(args.callees)


def measure(client, bodies, count: int, pid: int | None) -> tuple[float, float, float, dict[int, int]]:
    """(app CPU, database CPU, wall) per submission in seconds, and the statuses, over ``count`` submissions."""
    db_before = cpu_seconds([pid]).get(pid, 0.0) if pid else 0.0
    started, wall = time.process_time(), time.perf_counter()
    statuses = send(client, bodies, count)
    app_cpu, wall = time.process_time() - started, time.perf_counter() - wall
    db_cpu = (cpu_seconds([pid]).get(pid, 0.0) - db_before) if pid else 0.0
    return app_cpu / count, db_cpu / count, wall / count, statuses


def report(args, schema, batches) -> None:
    """Each batch's CPU per submission, and the least and the median: on a shared machine the least is the
    nearest to what a submission costs alone (others' work only ever adds to it)."""
    print(f"{'PostgreSQL' if schema else 'SQLite'}; answers: {args.answers}; {args.batches} batches of {args.count} "
          f"submissions; load average {os.getloadavg()[0]:.1f}")
    for app_cpu, db_cpu, wall, statuses in batches:
        print(f"  app {1000 * app_cpu:.2f} ms, database {1000 * db_cpu:.2f} ms, wall {1000 * wall:.2f} ms; {statuses}")
    for name, pick in (("least", min), ("median", statistics.median)):
        print(f"CPU per submission ({name}): app {1000 * pick(b[0] for b in batches):.2f} ms, "
              f"database {1000 * pick(b[1] for b in batches):.2f} ms")


def send(client, bodies, count: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for _ in range(count):
        token, _key, body = next(bodies)
        reply = client.post("/api/v1/submissions", data=body.encode(),
                            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
    return statuses


if __name__ == "__main__":
    main()
