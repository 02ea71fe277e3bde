"""Load test of POST /api/v1/submissions under gunicorn: throughput, latency, nothing lost or doubled.

Starts gunicorn (4 workers) on a fresh database (SQLite by default, PostgreSQL with --postgres URL),
then N client threads send interviews for a fixed time; a share of them are retried with the same
uuid (as an offline queue does after a lost reply). Prints requests/s, p50/p95/p99 latency, and
checks that the database holds exactly one row per distinct uuid acknowledged.

    .venv/bin/python bench/submissions_load.py --clients 50 --seconds 20
    .venv/bin/python bench/submissions_load.py --postgres postgresql://postgres@127.0.0.1:5432/test
Budget (design.md): >= 300 submissions/s sustained on 2 cores, p95 <= 100 ms at 50 clients.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, schema: str | None) -> tuple[str, int, dict]:
    """Migrate, publish the surveys, create a volunteer and a token; return token, version, answers."""
    from sqlalchemy import text

    from tests.web.helpers import HOAN_KIEM, a_valid_answer
    from web import catalog, create_app, db
    from web.auth import hash_password, new_token
    from web.models import User

    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    app = create_app({"DATABASE_URL": url, "ENGINE_OPTIONS": options})
    with app.app_context():
        if schema:
            with db.engine().begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        db.upgrade(db.engine())
        catalog.load_areas(db.session())
        version = catalog.current_version(db.session(), "digital-skills") or catalog.publish_builtin(db.session())[0]
        version = catalog.current_version(db.session(), "digital-skills")
        inst = catalog.instrument_of(version)
        user = User(username="bench-volunteer", role="volunteer", password_hash=hash_password("bench-password"))
        db.session().add(user)
        db.session().commit()
        token = new_token(user)
        answers = {}
        for q in inst.questions:
            for target in (q.items if q.type == "grid" else (q,)):
                if target.takes_answer:
                    value = a_valid_answer(q if q.type == "grid" else target)
                    if value is not None:
                        answers[target.name] = value
        answers.update(birth_year=1960, ward=HOAN_KIEM)
        db.engine().dispose()  # no connection of this process may hold the database while the server runs
        return token, version.version, answers


def count_rows(url: str, schema: str | None) -> int:
    from sqlalchemy import create_engine, text

    from web.config import normalise_database_url

    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = create_engine(normalise_database_url(url), **options)
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM responses")).scalar_one()


def wait_until_ready(port: int, workers: int, timeout: float = 120) -> None:
    """Wait until every worker has loaded the app: gunicorn listens before its workers are ready."""

    def fast() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with concurrent.futures.ThreadPoolExecutor(2 * workers) as pool:
            answers = list(pool.map(lambda _: fast(), range(2 * workers)))
        if all(answers):
            return
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def client(port, token, version, answers, deadline, results, retry_share, lock):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    rng = random.Random()
    local = []
    acked: set[str] = set()
    previous = None
    while time.perf_counter() < deadline:
        if previous and rng.random() < retry_share:
            body_uuid = previous
        else:
            body_uuid = str(uuid.uuid4())
        body = json.dumps({"uuid": body_uuid, "survey": "digital-skills", "version": version,
                           "answers": answers, "meta": {"language": "vi"}})
        start = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/submissions", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        local.append((time.perf_counter() - start, status))
        if status in (200, 201):
            acked.add(body_uuid)
        previous = body_uuid
    with lock:
        results["latencies"].extend(local)
        results["acked"] |= acked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread if > 1)")
    parser.add_argument("--retry-share", type=float, default=0.1)
    parser.add_argument("--postgres", metavar="URL", help="run against PostgreSQL (own schema) instead of SQLite")
    parser.add_argument("--driver", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator: wrk (C, light on the CPU; Debian package 'wrk') or Python threads")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="khaosat-bench-"))
    schema = None
    if args.postgres:
        url, schema = args.postgres, f"bench_{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite'}"
    token, version, answers = prepare(url, schema)
    port = free_port()
    # one token sends everything here, so the per-token submission limit (300/min) is lifted
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "KHAOSAT_RATE_LIMITS": "0"}
    if schema:
        env["PGOPTIONS"] = f"-csearch_path={schema}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(args.workers),
         "--threads", str(args.threads), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"],
        cwd=ROOT, env=env)
    try:
        wait_until_ready(port, args.workers)
        if args.driver == "wrk":
            report_wrk(port, token, version, answers, args, url, schema)
            return
        results = {"latencies": [], "acked": set()}
        lock = threading.Lock()
        deadline = time.perf_counter() + args.seconds
        threads = [threading.Thread(target=client, args=(port, token, version, answers, deadline, results,
                                                         args.retry_share, lock)) for _ in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=20)
        if args.driver == "wrk":
            cleanup(url, schema, workdir)
    latencies = sorted(lat for lat, _ in results["latencies"])
    statuses: dict[int, int] = {}
    for _, status in results["latencies"]:
        statuses[status] = statuses.get(status, 0) + 1
    rows = count_rows(url, schema)

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(describe(args, schema))
    print(f"requests: {len(latencies)} in {elapsed:.1f} s = {len(latencies) / elapsed:.0f}/s "
          f"(budget >= 300/s); statuses: {dict(sorted(statuses.items()))}")
    print(f"latency ms: p50 {pct(0.5):.1f}  p95 {pct(0.95):.1f} (budget <= 100)  p99 {pct(0.99):.1f}")
    print(f"distinct uuids acknowledged: {len(results['acked'])}; rows in database: {rows}; "
          f"{'OK: none lost, none doubled' if rows == len(results['acked']) else 'MISMATCH'}")
    cleanup(url, schema, workdir)


def describe(args, schema) -> str:
    backend = "PostgreSQL" if schema else "SQLite (WAL)"
    return (f"backend: {backend}; gunicorn workers: {args.workers} x {args.threads} threads; clients: {args.clients} ({args.driver}); "
            f"{args.seconds:.0f} s; retries: {args.retry_share:.0%} of sends")


def report_wrk(port, token, version, answers, args, url, schema) -> None:
    """Drive the server with wrk and check the database against the 201s it counted."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{args.clients}", f"-d{int(args.seconds)}s", "--timeout", "10s", "-s",
         str(Path(__file__).with_name("submissions.lua")), f"http://127.0.0.1:{port}", "--", token, str(version),
         json.dumps(answers, ensure_ascii=False), str(args.retry_share)],
        capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    created, repeated, other = (int(x) for x in line.split()[1:4])
    seconds, p50, p95, p99 = (float(x) for x in line.split()[4:])
    rows = count_rows(url, schema)
    total = created + repeated + other
    print(describe(args, schema))
    print(f"requests: {total} in {seconds:.1f} s = {total / seconds:.0f}/s (budget >= 300/s); "
          f"201: {created}, 200 (retries): {repeated}, other: {other}")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f} (budget <= 100)  p99 {p99:.1f}")
    in_flight = rows - created  # stored, but wrk stopped before reading the 201; a client would retry
    verdict = ("OK: none lost, none doubled" if created and 0 <= in_flight <= args.clients and other == 0
               else "MISMATCH")
    print(f"rows in database: {rows}; 201 answers read: {created}; stored while wrk stopped: {in_flight}; {verdict}")


def cleanup(url, schema, workdir) -> None:
    if schema:
        from sqlalchemy import create_engine, text

        from web.config import normalise_database_url

        with create_engine(normalise_database_url(url)).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
