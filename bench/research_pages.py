"""Research pages during fieldwork: each page and API call cold, warm, and right after new submissions,
over HTTP against gunicorn (2 workers) on PostgreSQL.

    python bench/research_pages.py 100000 1000000          # load (if needed) and measure each size
    python bench/research_pages.py 100000 --measure-only   # measure the database left by an earlier load
    python bench/research_pages.py 100000 --reload         # drop the database and load it again
    python bench/research_pages.py 1000000 --during-run rq --during-run thread   # pages during a weighting run

Each size has its own database, ``khaosat_pages_<N>`` on $BENCH_POSTGRES (default
postgres@127.0.0.1:5432), kept after the run. Loading: the demo (accounts, margins, covariates, sample,
visits; about 1,000 digital-skills responses), then copies of the demo's digital-skills responses made
inside PostgreSQL (``INSERT ... SELECT`` over ``generate_series``: no row crosses the wire) until there
are N, then ``VACUUM ANALYZE``. Then gunicorn serves the app with 2 sync workers; a researcher logs in
through the login form (and the API gets a bearer token), and for each page:

* ``cold``: the first request after the server started with no saved weights (``weight_snapshots``
  emptied). Above ``KHAOSAT_WEIGHTING_JOB_THRESHOLD`` responses it answers at once that the figures are being
  prepared (a page that reloads itself; the API 202) while a weighting run makes them: ``ready`` is how long
  until the page showed figures (polled every second); a page that is ready at once has the same figure;
* ``restart``: the first request of a restarted server whose weights were saved by the last one (above the
  threshold it answers "being prepared" while the worker reads them in a thread), and how long until the page
  showed figures; ``slowest`` is the slowest single answer of the cold and restart polling;
* ``warm``: ``--repeat`` requests, median and 95th percentile;
* ``new``: ``--repeat`` rounds of one interview sent through ``POST /api/v1/submissions``, then the page
  at once (the weights are made again in the background meanwhile; the page serves the last complete
  ones, labelled "as of"): median and 95th percentile.

Next to wall time, the CPU seconds of the gunicorn workers and of the PostgreSQL backends per request
(from /proc), since the machine is shared. Budget (issue 20): every page <= 0.5 s at p95 at 100,000
responses, <= 1 s at 1,000,000.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.submissions_load import prepare as volunteer  # noqa: E402
from bench.submissions_load import server_pids, start_gunicorn, wait_until_ready  # noqa: E402
from web import catalog, create_app, db  # noqa: E402
from web.auth import new_token  # noqa: E402
from web.config import normalise_database_url  # noqa: E402
from web.demo import seed_demo  # noqa: E402
from web.models import User  # noqa: E402

PAGES = {
    "results by ward": "/research/digital-skills?indicator=dsi_index&level=ward",
    "results ward x sex": "/research/digital-skills?indicator=internet_user&level=ward&by=sex",
    "API by ward": "/api/v1/results/digital-skills?indicator=dsi_index&by=ward",
    "left behind": "/research/digital-skills/left-behind?indicator=dsi_index",
    "weighting": "/research/digital-skills/weighting?indicator=dsi_index&by=sex",
    "chart (PNG)": "/research/digital-skills/chart.png?indicator=dsi_index&level=ward&by=sex",
    "chart (SVG)": "/research/digital-skills/chart.svg?indicator=dsi_index&level=ward&by=sex",
}
WORKERS = 2
DATABASE = "khaosat_pages_{rows}"  #: each size's database (another bench may name its own)
COPY_COLUMNS = ("survey_version_id", "ward_code", "code_list", "channel", "language", "answers", "scores", "meta",
                "content_hash", "stratum", "psu", "base_weight", "volunteer_id", "started_at", "submitted_at",
                "is_excluded", "review_status", "revision", "is_test")


def server_url() -> str:
    return os.environ.get("BENCH_POSTGRES", "postgres@127.0.0.1:5432")


def database_url(rows: int) -> str:
    return f"postgresql+psycopg://{server_url()}/{DATABASE.format(rows=rows)}"


def exists(rows: int) -> bool:
    admin = create_engine(f"postgresql+psycopg://{server_url()}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": DATABASE.format(rows=rows)}).first() is not None
    admin.dispose()
    return found


def create(rows: int) -> None:
    admin = create_engine(f"postgresql+psycopg://{server_url()}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE.format(rows=rows)} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE.format(rows=rows)}"))
    admin.dispose()


def load(rows: int) -> None:
    """The demo, then copies of its digital-skills responses made by PostgreSQL until there are ``rows``."""
    create(rows)
    began = time.perf_counter()
    app = create_app({"DATABASE_URL": database_url(rows), "SECRET_KEY": "bench"})
    with app.app_context():
        db.upgrade(db.engine())
        session = db.session()
        catalog.load_areas(session)
        catalog.publish_builtin(session)
        seed_demo(session, 1, per_ward=8)
        version = catalog.current_version(session, "digital-skills").id
        columns = ", ".join(COPY_COLUMNS)
        with db.engine().begin() as conn:
            demo = conn.execute(text("SELECT count(*) FROM responses WHERE survey_version_id = :v"),
                                {"v": version}).scalar_one()
            copies = -(-(rows - demo) // demo)
            conn.execute(text(
                f"INSERT INTO responses (uuid, {columns}) SELECT 'bench-' || g || '-' || r.id, {columns} "
                f"FROM generate_series(1, :copies) AS g CROSS JOIN (SELECT * FROM responses "
                f"WHERE survey_version_id = :v ORDER BY id) AS r ORDER BY g, r.id LIMIT :extra"),
                {"copies": copies, "v": version, "extra": rows - demo})
        with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE responses"))
        made = db.session().execute(text("SELECT count(*) FROM responses WHERE survey_version_id = :v"),
                                    {"v": version}).scalar_one()
        db.engine().dispose()
    print(f"loaded {made:,} digital-skills responses into {DATABASE.format(rows=rows)} in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


def prepare(rows: int) -> tuple[str, str, dict, int]:
    """(researcher's API token, volunteer's API token, an interview's answers, the survey's version)."""
    app = create_app({"DATABASE_URL": database_url(rows), "SECRET_KEY": "bench"})
    with app.app_context():
        session = db.session()
        token = new_token(session.exec(select(User).where(User.username == "demo-researcher")).one())
        for earlier in session.exec(select(User).where(User.username == "bench-volunteer")).all():
            earlier.username = f"bench-volunteer-{uuid.uuid4().hex[:8]}"  # an earlier run's: a new one is made
            session.add(earlier)
        session.commit()
        db.engine().dispose()
    volunteer_token, version, answers = volunteer(database_url(rows), None)
    return token, volunteer_token, answers, version


class Client:
    """A researcher's browser (cookies, the login form) and an API client, over HTTP."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = token
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def login(self) -> None:
        page = self.opener.open(self.base + "/accounts/login").read().decode()
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": csrf, "username": "demo-researcher",
                                       "password": "khaosat-researcher"}).encode()
        landed = self.opener.open(self.base + "/accounts/login", body)
        assert "/accounts/login" not in landed.url, "the researcher's login failed"

    def ready(self, path: str) -> tuple[float, float]:
        """Seconds until ``path`` shows figures rather than "being prepared" (asked again every second), and the
        slowest of the answers meanwhile (the one showing the figures included)."""
        began, slowest = time.perf_counter(), 0.0
        while True:
            seconds, body = self.get(path)
            slowest = max(slowest, seconds)
            if not preparing(body):
                return time.perf_counter() - began, slowest
            time.sleep(1.0)

    def get(self, path: str) -> tuple[float, bytes]:
        request = urllib.request.Request(self.base + path)
        if path.startswith("/api/"):
            request.add_header("Authorization", f"Bearer {self.token}")
        began = time.perf_counter()
        with self.opener.open(request, timeout=600) as response:
            body = response.read()
        return time.perf_counter() - began, body

    def submit(self, volunteer_token: str, version: int, answers: dict) -> None:
        body = json.dumps({"uuid": str(uuid.uuid4()), "survey": "digital-skills", "version": version,
                           "answers": answers, "meta": {"language": "vi"}}).encode()
        request = urllib.request.Request(self.base + "/api/v1/submissions", body, method="POST", headers={
            "Authorization": f"Bearer {volunteer_token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status in (200, 201), response.status


def preparing(body: bytes) -> bool:
    """Whether an answer says the figures are being prepared (the page's refresh, the API's status)."""
    return b'http-equiv="refresh"' in body or b'"status":"preparing"' in body.replace(b" ", b"")


def thread_cpu(pid: int, tid: int) -> float:
    """CPU seconds (user + system) one thread of a process used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds a request costs: the gunicorn workers' request-serving threads (a sync worker serves on
    its main thread; weights being made again in the background run on another thread and are left out)
    and the PostgreSQL backends of this database."""

    def __init__(self, master: int, url: str) -> None:
        self.master, self.url = master, url
        self.workers, self.backends = server_pids(master, url)
        self.before: dict[int, float] = {}

    def _now(self) -> dict[int, float]:
        self.workers, self.backends = server_pids(self.master, self.url)
        return {**{p: thread_cpu(p, p) for p in self.workers}, **{p: thread_cpu(p, p) for p in self.backends}}

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> tuple[float, float]:
        spent = {pid: used - self.before.get(pid, 0.0) for pid, used in self._now().items()}
        return sum(spent.get(p, 0.0) for p in self.workers), sum(spent.get(p, 0.0) for p in self.backends)

    def busy(self) -> float:
        """CPU seconds every thread of the workers used so far (the background ones too)."""
        total = 0.0
        for pid in self.workers:
            for task in Path(f"/proc/{pid}/task").glob("*"):
                total += thread_cpu(pid, int(task.name))
        return total

    def settle(self, quiet: float = 0.05, timeout: float = 900) -> None:
        """Wait until the workers' background threads (weights made again) have finished."""
        deadline = time.perf_counter() + timeout
        last = self.busy()
        while time.perf_counter() < deadline:
            time.sleep(1.0)
            now = self.busy()
            if now - last < quiet:
                return
            last = now


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def timed(client: Client, meter: CpuMeter, path: str) -> tuple[float, float, float]:
    """(wall seconds, workers' CPU seconds, database backends' CPU seconds) of one request."""
    meter.start()
    seconds, _ = client.get(path)
    workers, backends = meter.stop()
    return seconds, workers, backends


def serve(rows: int):
    os.environ["GUNICORN_CMD_ARGS"] = "--timeout 900"  # a cold first page at 1,000,000 responses takes minutes
    server, port = start_gunicorn(database_url(rows), None, WORKERS)
    wait_until_ready(port, WORKERS)
    return server, port


def stop(server) -> None:
    server.terminate()
    server.wait(timeout=60)


def empty_snapshots(rows: int) -> None:
    engine = create_engine(normalise_database_url(database_url(rows)))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM weight_snapshots"))
    engine.dispose()


def first_views(rows: int, token: str, label: str) -> dict[str, tuple[float, float, float]]:
    """Each page's first request on a newly started server (2 workers)."""
    server, port = serve(rows)
    try:
        client = Client(port, token)
        client.login()
        meter = CpuMeter(server.pid, database_url(rows))
        out = {}
        for name, path in PAGES.items():
            out[name] = (*timed(client, meter, path), *client.ready(path))
            print(f"  {label:8} {name:20} {out[name][0]:7.3f} s, figures shown after {out[name][3]:7.3f} s "
                  f"(slowest answer {out[name][4]:.3f} s)", flush=True)
        return out
    finally:
        stop(server)


def repeated(rows: int, token: str, volunteer: tuple[str, int, dict], repeat: int) -> dict[str, dict]:
    """Warm requests, and requests right after one new submission each, per page."""
    server, port = serve(rows)
    try:
        client = Client(port, token)
        client.login()
        meter = CpuMeter(server.pid, database_url(rows))
        for path in PAGES.values():  # each worker's first view (its weights from the shared snapshot, or made
            for _ in range(WORKERS):  # by a weighting run when there is none: "being prepared" until it ends)
                client.ready(path)
        out = {}
        for name, path in PAGES.items():
            meter.settle()  # warm means warm: the last page's new weights are made and every page's view of them
            for _ in range(WORKERS):
                client.get(path)
            warm = [timed(client, meter, path) for _ in range(repeat)]
            new = []
            for _ in range(repeat):
                client.submit(*volunteer)
                new.append(timed(client, meter, path))
            out[name] = {"warm": warm, "new": new}
            print(f"  {name:20} warm p95 {p95([w[0] for w in warm]):7.3f} s, new p95 {p95([n[0] for n in new]):7.3f} s",
                  flush=True)
        return out
    finally:
        stop(server)


def _last_run(engine) -> tuple[str, str] | None:
    """(id, status) of the newest weighting run."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id, status FROM jobs WHERE kind = 'weighting' ORDER BY created_at DESC"
                                  " LIMIT 1")).first()
    return None if found is None else (found[0], found[1])


def during_run(rows: int, token: str, volunteer: tuple[str, int, dict], queue: str, cap: float = 1800) -> None:
    """Every page asked again and again, one after another, while a weighting run makes new weights after one
    new submission: on RQ (``queue`` "rq": a ``khaosat worker`` process beside the web tier, on Redis) or in
    the web worker's own job thread ("thread"). Prints each page's median, 95th percentile and slowest
    answer during the run, and how long the run took."""
    env = {"KHAOSAT_JOB_QUEUE": queue}
    if queue == "rq":
        env.update(REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                   KHAOSAT_JOB_RQ_QUEUE=f"khaosat-bench-{uuid.uuid4().hex[:8]}")
    os.environ.update(env)
    worker = None
    if queue == "rq":
        worker = subprocess.Popen([str(Path(sys.executable).parent / "khaosat"), "worker"], cwd=ROOT, env={
            **os.environ, "DATABASE_URL": database_url(rows), "SECRET_KEY": "bench"})
    server, port = serve(rows)
    engine = create_engine(normalise_database_url(database_url(rows)))
    try:
        client = Client(port, token)
        client.login()
        meter = CpuMeter(server.pid, database_url(rows))
        for path in PAGES.values():  # every worker has the last weights and its views of them
            for _ in range(WORKERS):
                client.ready(path)
        meter.settle()
        before = _last_run(engine)
        client.submit(*volunteer)
        times: dict[str, list[float]] = {name: [] for name in PAGES}
        began = time.perf_counter()
        while time.perf_counter() - began < cap:
            for name, path in PAGES.items():
                times[name].append(client.get(path)[0])
            run = _last_run(engine)
            if run is not None and run != before and run[1] in ("done", "failed", "cancelled"):
                break
            if run == before and time.perf_counter() - began > 60:
                raise SystemExit("no weighting run was queued: is the survey below KHAOSAT_WEIGHTING_JOB_THRESHOLD?")
        took = time.perf_counter() - began
        print(f"\nPostgreSQL, {rows:,} responses, gunicorn {WORKERS} sync workers; the weighting run on {queue} "
              f"({'a khaosat worker process' if queue == 'rq' else 'a thread of a web worker'}) took about {took:.0f} s "
              f"({run[1] if run else 'none'}); load average {os.getloadavg()[0]:.1f}.")
        print("| page | answers during the run | p50 | p95 | slowest |\n| --- | ---: | ---: | ---: | ---: |")
        for name, seen in times.items():
            print(f"| {name} | {len(seen)} | {statistics.median(seen):.3f} | {p95(seen):.3f} | {max(seen):.3f} |")
    finally:
        stop(server)
        engine.dispose()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
        for name in env:
            os.environ.pop(name, None)


def report(rows: int, cold: dict, restart: dict, runs: dict, load: tuple[str, str]) -> None:
    print(f"\nPostgreSQL, {rows:,} responses, gunicorn {WORKERS} sync workers, over HTTP (seconds; CPU: "
          f"workers + PostgreSQL backends per request, median). Load average {load[0]} before, {load[1]} after.")
    print("| page | cold | cold: figures shown | restart | restart: figures shown | slowest | warm p50 | warm p95 "
          "| warm CPU | after a new submission p50 | p95 | CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in PAGES:
        warm, new = runs[name]["warm"], runs[name]["new"]

        def cpu(samples):
            return f"{statistics.median(s[1] for s in samples):.2f} + {statistics.median(s[2] for s in samples):.2f}"

        slowest = max((v for v in (cold[name][4], restart[name][4]) if v == v), default=float("nan"))
        print(f"| {name} | {cold[name][0]:.2f} | {cold[name][3]:.2f} | {restart[name][0]:.3f} | "
              f"{restart[name][3]:.2f} | {slowest:.3f} | "
              f"{statistics.median(w[0] for w in warm):.3f} | {p95([w[0] for w in warm]):.3f} | {cpu(warm)} | "
              f"{statistics.median(n[0] for n in new):.3f} | {p95([n[0] for n in new]):.3f} | {cpu(new)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000])
    parser.add_argument("--measure-only", action="store_true", help="use the database an earlier run loaded")
    parser.add_argument("--reload", action="store_true", help="drop the database and load it again")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold and restart rows")
    parser.add_argument("--restart", action="store_true", help="with --no-cold: the restart rows all the same, "
                        "after the warm ones (from the weights their server saved)")
    parser.add_argument("--during-run", choices=["rq", "thread"], action="append", default=[],
                        help="instead: the pages while a weighting run makes new weights, on RQ or in a web "
                             "worker's thread (repeatable)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped: the servers it started stop too
    for rows in args.sizes:
        if args.reload or not (exists(rows) or args.measure_only):
            load(rows)
        token, volunteer_token, answers, version = prepare(rows)
        if args.during_run:
            for queue in args.during_run:
                during_run(rows, token, (volunteer_token, version, answers), queue)
            continue
        before = f"{os.getloadavg()[0]:.1f}"
        cold = restart = {name: (float("nan"),) * 5 for name in PAGES}
        if not args.no_cold:
            empty_snapshots(rows)
            cold = first_views(rows, token, "cold")
            restart = first_views(rows, token, "restart")
        runs = repeated(rows, token, (volunteer_token, version, answers), args.repeat)
        if args.no_cold and args.restart:  # the weights the warm rows' server saved
            restart = first_views(rows, token, "restart")
        report(rows, cold, restart, runs, (before, f"{os.getloadavg()[0]:.1f}"))


if __name__ == "__main__":
    main()
