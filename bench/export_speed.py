"""Export speed and memory: N synthetic responses to CSV, XLSX, Parquet, SPSS and Stata.

    python bench/export_speed.py [25000 50000 100000] [csv xlsx parquet sav dta] [--postgres]

Responses are stored in a fresh SQLite database, or with ``--postgres`` in a fresh PostgreSQL
database ``khaosat_bench`` on $BENCH_POSTGRES (default: postgres@127.0.0.1:5432), dropped and made
anew for each size (digital-skills answers generated from the instrument), then each export is run through the app's own code: rows read in chunks by
``web.tables.iter_frames``, shaped by ``web.research.exports.shape``, written by the format's writer.
Prints, per size and format, the wall-clock and CPU seconds of a run without tracing (CPU seconds
are steadier than wall-clock on a shared machine), the peak of Python allocations (tracemalloc)
during a second, traced run, the growth of the process's resident memory at its peak in that run
(``rss``: this also counts Arrow's and the database driver's buffers, which tracemalloc does not
see), and the file size. Flat memory shows as a peak that does not grow
with N (CSV, XLSX, Parquet stream by chunk; SPSS and Stata need the whole table in pyreadstat).
The final weights are computed first and not timed with the export (the app caches them until a
response or the margins change); the ``weights`` line times that computation (the responses
table plus calibration) on its own, which is what the first download after a change also pays.
Budget: CSV of 100,000 responses <= 5 s.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import func, insert  # noqa: E402
from sqlmodel import select  # noqa: E402
from tqdm import tqdm  # noqa: E402

from web import catalog, create_app, db  # noqa: E402
from web.catalog import ward_names  # noqa: E402
from web.demo import synthetic_responses  # noqa: E402
from web.models import Response  # noqa: E402
from web.population import build_population, draw_sample  # noqa: E402
from web.research import codebook, exports  # noqa: E402
from web.research.query import load_instrument  # noqa: E402
from web.research.weighting import calibrate, margins_frame, weighted  # noqa: E402
from web.tables import iter_frames, responses_frame  # noqa: E402


def seed(app, n: int) -> None:
    with app.app_context():
        session = db.session()
        version = catalog.current_version(session, "digital-skills")
        instrument = catalog.instrument_of(version)
        population = build_population()
        rng, made = np.random.default_rng(1), 0
        template = list(synthetic_responses(version, instrument, draw_sample(population, rng, contacts_per_psu=4),
                                   random.Random(1)))
        rows = [r.model_dump(exclude={"id"}) for r in template]
        with tqdm(total=n, desc=f"responses ({n:,})", unit="row", file=sys.stderr, disable=None) as bar:
            while made < n:  # copies of the template as plain rows (a copied ORM object would be stored once)
                batch = [{**row, "uuid": f"bench-{made + i}"} for i, row in enumerate(rows[: n - made])]
                session.execute(insert(Response), batch)
                session.commit()
                made += len(batch)
                bar.update(len(batch))
        assert session.exec(select(func.count()).select_from(Response)).one() == n
        if db.engine().dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
            with db.engine().connect() as connection:
                connection.exec_driver_sql("ANALYZE responses")


def weights_seconds(app) -> tuple[float, float]:
    with app.test_request_context():  # what weighted() does when its cache misses
        start, cpu = time.perf_counter(), time.process_time()
        calibrate(responses_frame(db.session(), "digital-skills"), margins_frame(db.session(), 1))
        return time.perf_counter() - start, time.process_time() - cpu


def run(app, fmt: str, trace: bool) -> tuple[float, float, float, int]:
    with app.test_request_context():
        session = db.session()
        data = weighted(session, "digital-skills", 1)  # calibration: once, cached, not timed
        spec = codebook.variables(load_instrument("digital-skills"))
        weights = data.frame.set_index("response_id")["weight"]
        names = ward_names(session, 1)
        del data
        if trace:
            tracemalloc.start()
            resident = _reset_peak_rss()
        start, cpu = time.perf_counter(), time.process_time()
        rows = (exports.shape(c, spec, c["response_id"].map(weights), names) for c in iter_frames(session, "digital-skills"))
        if fmt == "csv":
            size = sum(len(b) for b in exports.csv_stream(rows, [v.name for v in spec]))
        else:
            if fmt == "xlsx":
                path = exports.xlsx_file(rows, [v.name for v in spec], {"codebook": exports.codebook_frame(spec)})
            elif fmt == "parquet":
                path = exports.parquet_file(rows, spec)
            else:
                path = exports.stats_file(rows, spec, fmt, "vi")
            size = Path(path).stat().st_size
            Path(path).unlink()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = (tracemalloc.get_traced_memory()[1] / 2**20, (_peak_rss() - resident) / 2**20) if trace \
            else (float("nan"), float("nan"))
        if trace:
            tracemalloc.stop()
    return seconds, cpu, peak, size


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> int:
    """Reset the kernel's high-water mark of resident memory (Linux); the resident bytes now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _peak_rss() -> int:
    return _status("VmHWM")


def fresh_database(postgres: bool) -> str:
    if not postgres:
        return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    server = os.environ.get("BENCH_POSTGRES", "postgres@127.0.0.1:5432")
    with psycopg.connect(f"postgresql://{server}/postgres", autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS khaosat_bench")
        connection.execute("CREATE DATABASE khaosat_bench")
    return f"postgresql+psycopg://{server}/khaosat_bench"


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--postgres"]
    sizes = [int(a) for a in args if a.isdigit()] or [25_000, 50_000, 100_000]
    formats = [a for a in args if not a.isdigit()] or ["csv", "xlsx", "parquet", "sav", "dta"]
    print("database:", "PostgreSQL" if "--postgres" in sys.argv else "SQLite")
    print(f"{'responses':>10} {'format':>8} {'seconds':>8} {'cpu s':>8} {'py MiB':>8} {'rss MiB':>8} {'file MiB':>9}")
    for n in sizes:
        app = create_app({"TESTING": True, "DATABASE_URL": fresh_database("--postgres" in sys.argv),
                          "SECRET_KEY": "b"})
        with app.app_context():
            db.upgrade(db.engine())
            catalog.load_areas(db.session())
            catalog.publish_builtin(db.session())
        seed(app, n)
        seconds, cpu = weights_seconds(app)
        print(f"{n:>10} {'weights':>8} {seconds:>8.2f} {cpu:>8.2f}", flush=True)
        for fmt in formats:
            seconds, cpu, _, size = run(app, fmt, trace=False)  # timed without tracemalloc's overhead
            *_, (python, resident), _ = run(app, fmt, trace=True)
            print(f"{n:>10} {fmt:>8} {seconds:>8.2f} {cpu:>8.2f} {python:>8.1f} {resident:>8.1f} "
                  f"{size / 2**20:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
