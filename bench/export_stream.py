"""Benchmark: the streamed CSV of a whole survey from the real ``responses`` table on PostgreSQL.

Usage::

    python bench/export_stream.py --sizes 200000,1000000            # load (COPY), weigh and measure
    python bench/export_stream.py --sizes 200000,1000000 --measure  # measure only, on the loaded databases
    python bench/export_stream.py --sizes 200000 --measure --forget --paths present,kept,kept
        # the present path, a first download (rows made and kept), a download from the kept rows
    python bench/export_stream.py --sizes 10000000 --keep --paths kept
        # load, weigh, make the kept rows as the background run does, then a download from them
    python bench/export_stream.py --sizes 1000000 --measure --weigh --weighting memory --paths ""
        # the weighting run alone, with the design in memory (or --weighting database: the cross-table)

One database per size (``khaosat_export_<N>`` on $BENCH_POSTGRES, default postgres@127.0.0.1:5432), so
that the sizes are measured the same way. Loading: migrate, publish the built-in surveys, the demo's
population margins (Hà Nội, ward x sex x age band), then COPY N digital-skills responses (the demo's synthetic
rows, about 1,000 distinct ones, each row with its own uuid; ~150 columns in the export) into the real
``responses`` table and VACUUM ANALYZE. Then the served weights are made once, as a weighting run does
(``--weighting``, default the product's rule): above ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` (2,000,000) the
weighting cells grouped by the database and saved (``weight_cells.refresh``), else the design made in memory
(read the responses, rake to the margins, trim, save the design's snapshot and its cells); the seconds, CPU
(this process's and PostgreSQL's) and peak memory of that run are printed.

Measuring: the full microdata CSV (``web.research.downloads.release`` at tier "full", as the admin's download
and the background job write it: rows through a server-side cursor, each row's weight joined from the saved
weighting cells, no weighted design in memory), every byte made and counted, not written. Prints rows/s,
wall and CPU seconds of this process and of its PostgreSQL backend (``/proc/<pid>/stat``: the machine is
shared, so CPU seconds are the steadier figure), the peak resident memory over the export (``VmHWM`` reset
before by writing 5 to ``/proc/self/clear_refs``) and its growth over the memory before the export.
Budget (issue 20.2): >= 50,000 rows/s at 10,000,000 responses, memory flat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from flask import g  # noqa: E402
from sqlmodel import select  # noqa: E402
from tqdm import tqdm  # noqa: E402

from web import catalog, create_app, db  # noqa: E402
from web.demo import synthetic_responses  # noqa: E402
from web.models import User  # noqa: E402
from web.population import build_population, draw_sample  # noqa: E402
from web.research import downloads, exports, releases, weight_cells, weighting  # noqa: E402
from web.research.margins import replace_margins  # noqa: E402
from web.tables import response_count  # noqa: E402

SERVER = os.environ.get("BENCH_POSTGRES", "postgres@127.0.0.1:5432")
SLUG = "digital-skills"
CHUNK = 100_000


def url(rows: int) -> str:
    return f"postgresql+psycopg://{SERVER}/khaosat_export_{rows}"


def _copy_text(value) -> str:
    """A value as COPY's text format writes it."""
    if value is None:
        return "\\N"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dt.datetime):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _template(app) -> tuple[list[str], list[str]]:
    """The demo's synthetic responses (the rows the demo stores: every column but the id) as COPY lines
    (tab-separated, without the uuid), and their columns after the uuid."""
    with app.app_context():
        version = catalog.current_version(db.session(), SLUG)
        instrument = catalog.instrument_of(version)
        sample = draw_sample(build_population(), np.random.default_rng(1), contacts_per_psu=4)
        made = list(synthetic_responses(version, instrument, sample, random.Random(1)))
    columns = [c for c in made[0] if c != "uuid"]
    return ["\t".join(_copy_text(r[c]) for c in columns) for r in made], columns


def load(rows: int) -> None:
    """A fresh database of ``rows`` responses (the served weights not made yet: :func:`weights`)."""
    with psycopg.connect(f"postgresql://{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS khaosat_export_{rows}")
        conn.execute(f"CREATE DATABASE khaosat_export_{rows}")
    app = create_app({"DATABASE_URL": url(rows), "SECRET_KEY": "bench"})
    with app.app_context():
        db.upgrade(db.engine())
        catalog.load_areas(db.session())
        catalog.publish_builtin(db.session())
        _margins_and_admin(db.session())
    lines, columns = _template(app)
    began = time.perf_counter()
    with psycopg.connect(f"postgresql://{SERVER}/khaosat_export_{rows}") as conn, conn.cursor() as cur:
        for first in tqdm(range(0, rows, CHUNK), desc=f"responses ({rows:,}, COPY)", unit="chunk", file=sys.stderr,
                          disable=None):
            buffer = io.StringIO()
            for i in range(first, min(rows, first + CHUNK)):
                buffer.write(f"bench-{i}\t{lines[i % len(lines)]}\n")
            with cur.copy(f"COPY responses (uuid, {', '.join(columns)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE responses")
    print(f"loaded {rows:,} responses in {time.perf_counter() - began:.1f} s", flush=True)


def _margins_and_admin(session) -> None:
    replace_margins(session, 1, build_population().margins(), "demo", None)
    session.add(User(username="bench-admin", role="admin", password_hash="x"))
    session.commit()


#: how the served weights are made: the product's rule (the database's cross-table above
#: KHAOSAT_CELLS_IN_DATABASE_THRESHOLD), always the database's, always the design in memory
WEIGHTING = {"product": None, "database": 0, "memory": 10**15}


def _app(rows: int, weighting_mode: str = "product"):
    config = {"DATABASE_URL": url(rows), "SECRET_KEY": "bench"}
    if WEIGHTING[weighting_mode] is not None:
        config["KHAOSAT_CELLS_IN_DATABASE_THRESHOLD"] = WEIGHTING[weighting_mode]
    return create_app(config)


def weights(rows: int, weighting_mode: str = "product") -> None:
    """The weighting run, timed: what a large survey's background run does (``weighting_jobs.weighting_task``):
    the weighting cells made by the database's cross-table and saved (above the threshold), else the served
    design made in memory (its snapshot and cells saved)."""
    app = _app(rows, weighting_mode)
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, SLUG)
        with _timed(rows, f"weighting run, {rows:,}") as said:
            if weighting.too_large(response_count(session, SLUG)):
                made = weight_cells.refresh(session, SLUG, provinces)
                said.append(f"cells made in the database: {len(made.table):,} cells, {len(made.single)} alone")
            else:
                made = weighting.refresh(session, SLUG, provinces)
                said.append(f"design made in memory: method {made.method}, "
                            f"{len(weight_cells.of_design(made).table):,} cells")


def keep(rows: int) -> None:
    """The full CSV's rows made and kept for every response, as the background run after a weighting run does
    (``downloads.keep_rows``), timed."""
    with _app(rows).test_request_context("/?lang=vi"), _timed(rows, f"kept rows made, {rows:,}") as said:
        said.append(f"{downloads.keep_rows(SLUG):,} rows")


@contextmanager
def _timed(rows: int, label: str) -> Iterator[list[str]]:
    """Print the wall and CPU seconds (this process's, PostgreSQL's) and the peak memory of the block, with what
    it appends to the list it is given."""
    start, cpu, resident, pg = time.perf_counter(), time.process_time(), _reset_peak(), _backends(rows)
    said: list[str] = []
    yield said
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    pg = sum(now - pg.get(pid, 0.0) for pid, now in _backends(rows).items())
    print(f"{label}: {seconds:.1f} s, {cpu:.1f} s CPU (python), {pg:.1f} s CPU (postgres), {', '.join(said)}, "
          f"peak RSS {_status('VmHWM') / 2**20:.0f} MiB (+{(_status('VmHWM') - resident) / 2**20:.0f}), "
          f"load {_load()}", flush=True)


def _status(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> int:
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(rows: int) -> dict[int, float]:
    """The CPU seconds so far of every PostgreSQL backend on the size's database (the export reads through one
    and writes the rows it makes back through another)."""
    with psycopg.connect(f"postgresql://{SERVER}/postgres", autocommit=True) as conn:
        pids = [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                               (f"khaosat_export_{rows}",))]
    out = {}
    for pid in pids:
        try:
            out[pid] = _cpu(pid)
        except OSError:  # ended meanwhile
            pass
    return out


def _blocks(made, path: str):
    if path == "present":
        return exports.csv_stream(made.rows(), made.columns)
    return made.csv_blocks()


def measure(rows: int, path: str = "kept") -> None:
    """One export, every byte hashed. ``path``: "kept" (the rows kept per response, made and kept first where
    missing: what the download does), "present" (every response's answers decoded and formatted)."""
    app = _app(rows)
    with app.test_request_context("/?lang=vi"):
        g.requesting_user = db.session().exec(select(User).where(User.username == "bench-admin")).one()
        db.read_session().connection()
        resident = _reset_peak()
        start, cpu, pg = time.perf_counter(), time.process_time(), _backends(rows)
        made = downloads.release(SLUG, "csv", releases.FULL)
        size = count = 0
        digest = hashlib.sha256()
        for block in _blocks(made, path):
            size += len(block)
            count += block.count(b"\r\n")
            digest.update(block)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        pg = sum(now - pg.get(pid, 0.0) for pid, now in _backends(rows).items())
        peak = _status("VmHWM")
        kept = db.session().connection().exec_driver_sql("SELECT count(*) FROM response_csv WHERE head IS NOT NULL") \
            .scalar()
    count -= 1  # the header
    print(f"{path:>7} {rows:>10,} rows  {count / seconds:>9,.0f} rows/s  {seconds:7.1f} s wall  {cpu:6.1f} s CPU "
          f"(python)  {pg:6.1f} s CPU (postgres)  peak RSS {peak / 2**20:6.0f} MiB (+{(peak - resident) / 2**20:.0f} "
          f"over the start)  {size / 2**20:,.0f} MiB of CSV  {len(made.columns)} columns  sha256 "
          f"{digest.hexdigest()[:12]}  rows kept after: {kept:,}  load {_load()}", flush=True)
    assert count == rows, (count, rows)


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000", help="comma-separated numbers of responses")
    parser.add_argument("--measure", action="store_true", help="measure only, on databases loaded before")
    parser.add_argument("--paths", default="kept",
                        help="comma-separated, in order: kept (the rows kept per response), present (decoded)")
    parser.add_argument("--forget", action="store_true", help="empty response_csv first (a first download)")
    parser.add_argument("--weighting", choices=list(WEIGHTING), default="product",
                        help="how the served weights are made after a load (or with --weigh)")
    parser.add_argument("--weigh", action="store_true", help="make the served weights again before measuring")
    parser.add_argument("--keep", action="store_true",
                        help="make and keep every row of the full CSV first, as the background run does")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for rows in sizes:
        if not args.measure:
            load(rows)
        if args.weigh or not args.measure:
            weights(rows, args.weighting)
        if args.forget:
            with psycopg.connect(f"postgresql://{SERVER}/khaosat_export_{rows}", autocommit=True) as conn:
                conn.execute("TRUNCATE response_csv")
        if args.keep:
            keep(rows)
        for path in filter(None, args.paths.split(",")):
            measure(rows, path)

if __name__ == "__main__":
    main()
