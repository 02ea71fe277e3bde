"""Load test of POST /api/v1/submissions under gunicorn: throughput, latency, nothing lost or doubled.

Starts gunicorn (4 workers) on a database (SQLite by default, PostgreSQL with --postgres URL), then
50 closed-loop clients (wrk, or Python threads) send interviews for a fixed time, as the volunteers'
app does: 50 volunteers, each with its own token and wards, each sending its own interviews in turn
(distinct answers of the demo's synthetic people in its wards, paradata with start and end times that
never overlap); 10% of sends are retries with the same uuid (an offline queue after a lost reply).
``--answers same`` sends one set of answers every time instead: every submission a duplicate of the
volunteer's previous ones, the worst case for the quality flags judged on arrival. Prints requests/s,
p50/p95/p99 latency, the CPU each request cost the app's workers and its PostgreSQL backends, and
checks that the database holds exactly one row per distinct uuid acknowledged.

    .venv/bin/python bench/submissions_load.py --clients 50 --seconds 15
    .venv/bin/python bench/submissions_load.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    # keep the database, and measure again later on what it holds (under a minute):
    .venv/bin/python bench/submissions_load.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/khaosat_submit \\
        --schema bench_keep
Budget (issue 20): >= 600 submissions/s on 2 cores, p95 <= 100 ms at 50 clients.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, func, text  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench import host_speed  # noqa: E402
from surveys import areas  # noqa: E402
from surveys.areas import CODE_LIST  # noqa: E402
from surveys.questions import kind  # noqa: E402
from tests.web.helpers import HOAN_KIEM, a_valid_answer  # noqa: E402
from web import catalog, create_app, db  # noqa: E402
from web.auth import hash_password, new_token  # noqa: E402
from web.config import normalise_database_url  # noqa: E402
from web.demo import PSUS_PER_WARD, synthetic_responses  # noqa: E402
from web.models import Response, User, WardAssignment  # noqa: E402
from web.population import build_population, draw_sample  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, schema: str | None) -> tuple[str, int, dict]:
    """Migrate, publish the surveys, create a volunteer and a token; return token, version, answers."""
    app = create_app({"DATABASE_URL": url, "ENGINE_OPTIONS": _search_path(schema)})
    with app.app_context():
        version, inst = _published(schema)
        user = User(username="bench-volunteer", role="volunteer", password_hash=hash_password("bench-password"))
        db.session().add(user)
        db.session().commit()
        token = new_token(user)
        answers = same_answers(inst)
        db.engine().dispose()  # no connection of this process may hold the database while the server runs
        return token, version.version, answers


def _search_path(schema: str | None) -> dict:
    return {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}


def _published(schema: str | None):
    """The database migrated, its areas loaded and the built-in surveys published: (digital-skills's
    current version, its instrument). Inside an app context."""
    if schema:
        with db.engine().begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    db.upgrade(db.engine())
    catalog.load_areas(db.session())
    if catalog.current_version(db.session(), "digital-skills") is None:
        catalog.publish_builtin(db.session())
    version = catalog.current_version(db.session(), "digital-skills")
    return version, catalog.instrument_of(version)


def same_answers(inst) -> dict:
    """One valid set of answers to every question (the duplicate worst case sends it every time)."""
    answers = {}
    for q in inst.questions:
        for target in (q.items if q.type == "grid" else (q,)):
            if kind(target.type).takes_answer:
                value = a_valid_answer(q if q.type == "grid" else target)
                if value is not None:
                    answers[target.name] = value
    answers.update(birth_year=1960, ward=HOAN_KIEM)
    return answers


#: a volunteer's interviews on the phone's clock: the n-th begins N_GAP_S after the (n-1)-th and lasts
#: 15 to 30 minutes, so none overlaps another (bench/submissions.lua computes the same)
N_GAP_S = 1800
HISTORY_DAYS = 300  #: the first interview of a new bench database began this long ago (queued offline)


def interview_times(base: int, n: int) -> tuple[int, int]:
    """(start, end) in Unix seconds of a volunteer's ``n``-th interview."""
    started = base + n * N_GAP_S
    return started, started + 900 + (n * 37) % 900


def answers_of(pool: list[str], n: int, varied: bool = True) -> str:
    """The answers of a volunteer's ``n``-th interview: its pool in turn; each time round the pool the
    birth years move on by a year (1935-2008), so that no two interviews of a volunteer are the same."""
    answers, turn = pool[n % len(pool)], n // len(pool)
    if not varied or turn == 0:
        return answers
    return re.sub(r'"birth_year": (\d+)', lambda m: f'"birth_year": {1935 + (int(m[1]) - 1935 + turn) % 74}',
                  answers, count=1)


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass
class Volunteer:
    name: str
    token: str
    interviews: list[str]  #: its distinct interviews' answers, as JSON: sent in turn, then again
    done: int  #: interviews it has stored already (where its turn goes on)


@dataclass
class Workload:
    """What the bench's volunteers send: each its own interviews in turn (its own wards' people, with
    paradata as the collection app sends it), or all the same answers (``same``, the duplicate worst case)."""

    version: int
    volunteers: list[Volunteer]
    base: int  #: Unix seconds: when interview 0 began
    area_codes: str  #: the ward code list the app sends (surveys.areas.CODE_LIST)
    answers: str = "varied"

    def body(self, index: int, n: int, key: str) -> str:
        """The JSON body of volunteer ``index``'s ``n``-th interview, sent as ``key``."""
        v = self.volunteers[index]
        started, ended = interview_times(self.base, n)
        meta = {"started_at": iso(started), "ended_at": iso(ended), "duration_s": ended - started,
                "channel": "interview", "language": "vi", "volunteer": v.name, "app_version": "bench",
                "gps_consent": False}
        return (f'{{"uuid":"{key}","survey":"digital-skills","version":{self.version},"answers":'
                f'{answers_of(v.interviews, n, self.answers == "varied")},"area_codes":"{self.area_codes}","meta":{json.dumps(meta)}}}')

    def bodies(self, retry_share: float = 0.1, seed: int | None = None):
        """(token, uuid, body) without end: the volunteers in turn, a share of sends retried (same uuid, same body)."""
        rng = random.Random(seed)
        sent = [v.done for v in self.volunteers]
        previous = None
        while True:
            for i, v in enumerate(self.volunteers):
                if previous is not None and rng.random() < retry_share:
                    yield previous
                    continue
                key = str(uuid.uuid4())
                previous = (v.token, key, self.body(i, sent[i], key))
                sent[i] += 1
                yield previous

    def write(self, path: Path) -> None:
        """The workload as bench/submissions.lua reads it: a line per volunteer, then one per interview."""
        with path.open("w") as out:
            for i, v in enumerate(self.volunteers):
                out.write(f"V\t{i + 1}\t{v.name}\t{v.token}\t{v.done}\n")
            for i, v in enumerate(self.volunteers):
                out.writelines(f"A\t{i + 1}\t{answers}\n" for answers in v.interviews)


def prepare_workload(url: str, schema: str | None, volunteers: int = 50, answers: str = "varied") -> Workload:
    """The database made ready (migrated, surveys published, ``volunteers`` bench volunteers with their
    wards and a fresh token each; what they stored before is kept) and what they will send."""
    app = create_app({"DATABASE_URL": url, "ENGINE_OPTIONS": _search_path(schema)})
    with app.app_context():
        version, inst = _published(schema)
        people = _volunteers(volunteers)
        if answers == "same":
            same = json.dumps(same_answers(inst) | {"ward": people[0][1][0]}, ensure_ascii=False)
            pools = [[same] for _ in people]
        else:
            pools = _interviews(version, inst, [wards for _, wards in people])
        done, base = _history([user.id for user, _ in people])
        crew = [Volunteer(user.username, new_token(user), pool, done.get(user.id, 0))
                for (user, _), pool in zip(people, pools, strict=True)]
        db.engine().dispose()  # no connection of this process may hold the database while the server runs
    return Workload(version.version, crew, base, CODE_LIST, answers)


def _volunteers(count: int) -> list[tuple]:
    """The bench's volunteers (created the first time) and their wards: Hà Nội's 126 shared out."""
    session = db.session()
    codes = [w.code for w in areas.wards(areas.HANOI)]
    password = None  # they send with tokens; hashed once (argon2 takes a second each)
    people = []
    for i in range(count):
        name = f"bench-volunteer-{i + 1:03d}"
        user = session.exec(select(User).where(User.username == name)).first()
        wards = [c for j, c in enumerate(codes) if j % count == i] or [codes[i % len(codes)]]
        if user is None:
            password = password or hash_password("bench-password")
            user = User(username=name, role="volunteer", password_hash=password)
            session.add(user)
            session.flush()
            session.add_all([WardAssignment(user_id=user.id, ward_code=w) for w in wards])
            session.commit()
        people.append((user, wards))
    return people


def _interviews(version, inst, wards: list[list[int]], each: int = 60, seed: int = 2026) -> list[list[str]]:
    """Distinct realistic interviews for each volunteer, in its wards: the demo's synthetic population
    sampled (web/demo.py), at least ``each`` a volunteer (more than the 50 a new one's overlaps are
    judged against). Kept in the system's temporary directory, since a measure-only run needs the same."""
    key = hashlib.sha256(json.dumps([version.version, inst.slug, wards, each, seed]).encode()).hexdigest()[:16]
    cached = Path(tempfile.gettempdir()) / f"khaosat-bench-interviews-{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    pools = _draw_interviews(version, inst, wards, each, seed)
    cached.write_text(json.dumps(pools, ensure_ascii=False))
    return pools


def _draw_interviews(version, inst, wards: list[list[int]], each: int, seed: int) -> list[list[str]]:
    sharing: dict[int, list[int]] = {}
    for i, mine in enumerate(wards):
        for w in mine:
            sharing.setdefault(w, []).append(i)
    per_ward = math.ceil(1.3 * each * max(len(s) for s in sharing.values()) / min(len(m) for m in wards))
    population = build_population(areas.HANOI, seed=seed)
    sample = draw_sample(population, np.random.default_rng(seed), psus_per_ward=PSUS_PER_WARD,
                         contacts_per_psu=math.ceil(per_ward / PSUS_PER_WARD / 0.5))
    pools: list[dict[str, None]] = [{} for _ in wards]
    dealt: dict[int, int] = {}
    for response in synthetic_responses(version, inst, sample, random.Random(seed)):
        ward = response["ward_code"]  # (rows of web.submissions.new_row)
        owners = sharing.get(ward)
        if owners:
            k = dealt[ward] = dealt.get(ward, -1) + 1
            pools[owners[k % len(owners)]][json.dumps(response["answers"], ensure_ascii=False)] = None
    short = min(len(p) for p in pools)
    if short <= 50:
        raise SystemExit(f"a bench volunteer has only {short} distinct interviews; use fewer volunteers")
    return [list(p) for p in pools]


def _history(ids: list[int]) -> tuple[dict[int, int], int]:
    """How many interviews each volunteer has stored, and when the first began (Unix seconds; for a new
    database, :data:`HISTORY_DAYS` ago)."""
    session = db.session()
    done = dict(session.execute(select(Response.volunteer_id, func.count()).where(Response.volunteer_id.in_(ids))
                                .group_by(Response.volunteer_id)).all())
    first = session.execute(select(func.min(Response.started_at)).where(Response.volunteer_id.in_(ids))).scalar()
    if first is None:
        return done, int(time.time()) - HISTORY_DAYS * 86400
    first = first if first.tzinfo else first.replace(tzinfo=dt.UTC)
    return done, int(first.timestamp())


def start_gunicorn(url: str, schema: str | None, workers: int, threads: int = 1,
                   server: str = "gunicorn") -> tuple[subprocess.Popen, int]:
    """gunicorn (or granian, ``server``) serving the app on ``url`` (in ``schema``), and its port; rate limits
    lifted, since one token sends everything here (the per-token submission limit is 300/min)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "KHAOSAT_RATE_LIMITS": "0"}
    if schema:
        env["PGOPTIONS"] = f"-csearch_path={schema}"
    if server == "granian":  # Rust HTTP, the app in each worker's Python thread(s)
        command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory", "--workers", str(workers),
                   "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning", "web:create_app"]
    else:
        command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--threads",
                   str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"]
    return subprocess.Popen(command, cwd=ROOT, env=env), port


def count_rows(url: str, schema: str | None) -> int:
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


def client(port, sends, deadline, results, lock):
    """One closed-loop client: sends the next of ``sends`` (shared, under ``lock``) until ``deadline``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    local = []
    acked: set[str] = set()
    while time.perf_counter() < deadline:
        with lock:
            token, key, body = next(sends)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        start = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/submissions", body=body.encode(), headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        local.append((time.perf_counter() - start, status))
        if status in (200, 201):
            acked.add(key)
    with lock:
        results["latencies"].extend(local)
        results["acked"] |= acked


def arguments(doc: str = __doc__) -> argparse.ArgumentParser:
    """The options every submissions bench shares: the database, the volunteers, what they send."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postgres", metavar="URL", help="run against PostgreSQL (own schema) instead of SQLite")
    parser.add_argument("--schema", help="with --postgres: use this schema and keep it (created the first time; "
                        "a later run measures on what earlier runs stored), instead of a new one dropped after")
    parser.add_argument("--volunteers", type=int, default=50, help="volunteers sending (a token each)")
    parser.add_argument("--answers", choices=["varied", "same"], default="varied",
                        help="varied: each volunteer's own distinct interviews, as in the field; same: one set "
                             "of answers every time (every submission a duplicate: the quality flags' worst case)")
    parser.add_argument("--retry-share", type=float, default=0.1, help="share of sends retried with the same uuid")
    return parser


def database(args, workdir: Path) -> tuple[str, str | None]:
    """(url, schema) of the bench's database: SQLite in ``workdir``, or a PostgreSQL schema."""
    if not args.postgres:
        return f"sqlite:///{workdir / 'bench.sqlite'}", None
    return args.postgres, args.schema or f"bench_{uuid.uuid4().hex[:8]}"


def main() -> None:
    parser = arguments()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warm-up", type=float, default=3, help="seconds of unmeasured load first (wrk driver)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread if > 1)")
    parser.add_argument("--server", choices=["gunicorn", "granian"], default="gunicorn",
                        help="the HTTP server in front of the app (granian: pip install granian)")
    parser.add_argument("--driver", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator: wrk (C, light on the CPU; Debian package 'wrk') or Python threads")
    parser.add_argument("--alongside", metavar="COMMAND",
                        help="wrk driver: a shell command started as the measured run starts (a large export, say: "
                             "'python bench/export_stream.py --sizes 1000000 --measure'); its output is printed after")
    args = parser.parse_args()

    args.load_before = f"{os.getloadavg()[0]:.1f}"
    args.host_speed = host_speed.seconds()  # the figures depend on the host as much as on the code
    workdir = Path(tempfile.mkdtemp(prefix="khaosat-bench-"))
    url, schema = database(args, workdir)
    workload = prepare_workload(url, schema, args.volunteers, args.answers)
    server, port = start_gunicorn(url, schema, args.workers, args.threads, args.server)
    try:
        wait_until_ready(port, args.workers)
        if args.driver == "wrk":
            report_wrk(port, workload, args, url, schema, CpuMeter(server.pid, url), workdir)
        else:
            report_python(port, workload, args, url, schema)
    finally:
        server.terminate()
        server.wait(timeout=20)
        cleanup(url, None if args.schema else schema, workdir)


def report_python(port, workload: Workload, args, url, schema) -> None:
    """Drive the server with Python client threads; check the rows against the acknowledged uuids."""
    results = {"latencies": [], "acked": set()}
    lock = threading.Lock()
    sends = workload.bodies(args.retry_share)
    rows_before = count_rows(url, schema)
    deadline = time.perf_counter() + args.seconds
    threads = [threading.Thread(target=client, args=(port, sends, deadline, results, lock))
               for _ in range(args.clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(lat for lat, _ in results["latencies"])
    statuses: dict[int, int] = {}
    for _, status in results["latencies"]:
        statuses[status] = statuses.get(status, 0) + 1
    rows = count_rows(url, schema) - rows_before

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(describe(args, schema))
    print(f"requests: {len(latencies)} in {elapsed:.1f} s = {len(latencies) / elapsed:.0f}/s "
          f"(budget >= 600/s); statuses: {dict(sorted(statuses.items()))}")
    print(f"latency ms: p50 {pct(0.5):.1f}  p95 {pct(0.95):.1f} (budget <= 100)  p99 {pct(0.99):.1f}")
    print(f"distinct uuids acknowledged: {len(results['acked'])}; rows stored: {rows}; "
          f"{'OK: none lost, none doubled' if rows == len(results['acked']) else 'MISMATCH'}")


def describe(args, schema) -> str:
    backend = "PostgreSQL" if schema else "SQLite (WAL)"
    return (f"backend: {backend}{f' (schema {schema})' if schema else ''}; {args.server} workers: {args.workers} x "
            f"{args.threads} threads; clients: {args.clients} ({args.driver}); {args.seconds:.0f} s; "
            f"{args.volunteers} volunteers, answers {args.answers}; retries: {args.retry_share:.0%} of sends")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) used so far by each process (Linux ``/proc``); gone ones are left out."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def server_pids(master: int, url: str) -> tuple[list[int], list[int]]:
    """The gunicorn workers of ``master`` and the PostgreSQL backends serving this database (not ours)."""
    try:
        workers = [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        workers = []
    if not url.startswith("postgresql"):
        return workers, []
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        backends = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid()")).scalars().all()
    engine.dispose()
    return workers, list(backends)


class CpuMeter:
    """CPU seconds the app's workers and its database backends spend between :meth:`start` and :meth:`stop`:
    a cost per request that a busy shared machine does not inflate as it inflates latency."""

    def __init__(self, master: int, url: str) -> None:
        self.master, self.url = master, url
        self.before: dict[int, float] = {}

    def start(self) -> None:
        workers, backends = server_pids(self.master, self.url)
        self.before = cpu_seconds(workers + backends)

    def stop(self) -> tuple[float, float]:
        """(workers' CPU seconds, database backends' CPU seconds) since :meth:`start`."""
        workers, backends = server_pids(self.master, self.url)
        spent = {pid: used - self.before.get(pid, 0.0) for pid, used in cpu_seconds(workers + backends).items()}
        return sum(spent.get(p, 0.0) for p in workers), sum(spent.get(p, 0.0) for p in backends)


def run_wrk(port, workload_file: Path, workload: Workload, args, seconds: float) -> tuple:
    """wrk with bench/submissions.lua: (201s, 200s, others, seconds, p50, p95, p99 in ms)."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{args.clients}", f"-d{int(seconds)}s", "--timeout", "10s", "-s",
         str(Path(__file__).with_name("submissions.lua")), f"http://127.0.0.1:{port}", "--", str(workload_file),
         str(workload.version), str(workload.base), str(args.retry_share), "2", workload.area_codes,
         workload.answers],
        capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    return (*(int(x) for x in line.split()[1:4]), *(float(x) for x in line.split()[4:]))


def report_wrk(port, workload: Workload, args, url, schema, meter: CpuMeter, workdir: Path) -> None:
    """Warm every worker up (its first submissions build the instrument and fill the caches), then drive
    the server with wrk and check the database against the 201s it counted."""
    workload_file = workdir / "workload.tsv"
    workload.write(workload_file)
    run_wrk(port, workload_file, workload, args, args.warm_up)
    time.sleep(1)  # the warm-up's last requests finish
    workload = _carry_on(workload, url, schema)
    workload.write(workload_file)
    rows_before = count_rows(url, schema)
    meter.start()
    alongside = subprocess.Popen(args.alongside, shell=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) if args.alongside else None
    created, repeated, other, seconds, p50, p95, p99 = run_wrk(port, workload_file, workload, args, args.seconds)
    app_cpu, db_cpu = meter.stop()
    if alongside is not None:
        running = alongside.poll() is None  # still at work when the measured run ended: it overlapped all of it
        output = alongside.communicate()[0]
        print(f"alongside ({'still running when the run ended' if running else 'ended before the run did'}): "
              f"{args.alongside}\n" + "".join(f"  | {line}\n" for line in output.splitlines()[-8:]), end="")
    rows = count_rows(url, schema) - rows_before
    total = created + repeated + other
    print(describe(args, schema))
    print(f"host speed {args.host_speed:.3f} s (bench/host_speed.py); load average before: {args.load_before}; "
          f"after: {os.getloadavg()[0]:.1f}")
    print(f"CPU per request: app workers {1000 * app_cpu / max(total, 1):.2f} ms, "
          f"database backends {1000 * db_cpu / max(total, 1):.2f} ms")
    print(f"requests: {total} in {seconds:.1f} s = {total / seconds:.0f}/s (budget >= 600/s); "
          f"201: {created}, 200 (retries): {repeated}, other: {other}")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f} (budget <= 100)  p99 {p99:.1f}")
    in_flight = rows - created  # stored, but wrk stopped before reading the 201; a client would retry
    verdict = ("OK: none lost, none doubled" if created and 0 <= in_flight <= args.clients and other == 0
               else "MISMATCH")
    print(f"rows in database (measured run): {rows}; 201 answers read: {created}; stored while wrk stopped: "
          f"{in_flight}; {verdict}")


def _carry_on(workload: Workload, url: str, schema: str | None) -> Workload:
    """``workload`` with each volunteer's count of stored interviews read again (after the warm-up), so
    that its next interview is one it has not sent. On PostgreSQL the tables are analysed first, as
    autovacuum does within a minute of fieldwork starting: a schema made seconds ago has no statistics,
    and without them the planner reads every earlier interview of the volunteer on each arrival (a
    bitmap scan and a sort, 2 ms at 160 interviews each) instead of the newest 50 (0.2 ms)."""
    engine = create_engine(normalise_database_url(url), **_search_path(schema))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE responses, response_flags, ward_assignments, api_tokens, users, survey_versions"))
    with engine.connect() as conn:
        done = dict(conn.execute(text("SELECT u.username, count(r.id) FROM users u JOIN responses r "
                                      "ON r.volunteer_id = u.id GROUP BY u.username")).all())
    engine.dispose()
    for v in workload.volunteers:
        v.done = done.get(v.name, 0)
    return workload


def cleanup(url, schema, workdir) -> None:
    if schema:
        with create_engine(normalise_database_url(url)).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
