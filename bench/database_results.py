"""The research pages of a survey over the in-memory limit computed by the database (results page and API, chart, table
file, left-behind ranking and its file, small-area estimates and their chart, the weighting page), over HTTP against gunicorn (2 workers) on PostgreSQL.

    python bench/database_results.py 1000000            # load (if needed) and measure
    python bench/database_results.py 1000000 --repeat 20

The database, ``khaosat_dbpages_<N>``, is loaded as ``bench/research_pages.py`` loads its own (the demo, then copies
of its digital-skills responses made by PostgreSQL), then each copy's PSU is split in ``--split`` (default 20: the
demo's 96 PSUs become about 1,900, each copy its own, as a national sample of 3,321 communes has thousands), so the
roll-up has the rows a survey of that size would give it. The server runs with
``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` at half the size, so the survey is served by the database
(``web/research/in_database.py``), with its last figures, kept rows and roll-up dropped first. Printed:

* ``ready``: from the first view of the results page (which queues the weighting run and says the figures are
  being prepared) until the page shows figures: the run's cross-table and cells, its kept CSV rows (every response's
  row rendered once), and the roll-up's one scan; then the roll-up's size;
* per page: the first request after the roll-up is served (cold: the page's sums read from the roll-up), then the
  median and 95th percentile of ``--repeat`` requests (warm), wall seconds, and the CPU seconds of the gunicorn
  workers and of the PostgreSQL backends per request;
* with ``--disclosure``, the disclosure-risk page: seconds from its first view until it shows the report measured in
  the background (every record's quasi-identifiers read and both protected files' suppression), then its views;
* the peak memory (VmHWM) of each worker.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import host_speed, research_pages  # noqa: E402
from bench.research_pages import (  # noqa: E402
    Client,
    CpuMeter,
    database_url,
    exists,
    load,
    p95,
    prepare,
    serve,
    stop,
    timed,
)
from web.config import normalise_database_url  # noqa: E402

PAGES = {
    "share by ward": "/research/digital-skills?indicator=internet_user&level=ward",
    "score by ward": "/research/digital-skills?indicator=dsi_index&level=ward",
    "share, sex x age band": "/research/digital-skills?indicator=at_least_basic&by=sex&by2=age_band",
    "ward x sex": "/research/digital-skills?indicator=internet_user&level=ward&by=sex",
    "API by ward": "/api/v1/results/digital-skills?indicator=dsi_index&by=ward",
    "DSI levels by ward": "/research/digital-skills?indicator=dsi_level&level=ward",
    "chart by ward (PNG)": "/research/digital-skills/chart.png?indicator=internet_user&level=ward",
    "table by ward (CSV)": "/research/digital-skills/table.csv?indicator=internet_user&level=ward",
    "left behind (score)": "/research/digital-skills/left-behind?indicator=dsi_index",
    "left behind (share)": "/research/digital-skills/left-behind?indicator=at_least_basic&all=1&page=3",
    "left behind (CSV)": "/research/digital-skills/left-behind.csv?indicator=at_least_basic",
    "small area (share)": "/research/digital-skills/small-area?indicator=internet_user",
    "small-area chart (PNG)": "/research/digital-skills/small-area/chart.png?indicator=internet_user",
    "API estimator=fh": "/api/v1/results/digital-skills?indicator=dsi_index&estimator=fh",
    "weighting, by sex": "/research/digital-skills/weighting?indicator=internet_user&by=sex",
}


def split_units(rows: int, parts: int) -> None:
    """Give each copy of a demo response one of ``parts`` PSUs of its own PSU (the demo's responses keep theirs)."""
    engine = create_engine(normalise_database_url(database_url(rows)))
    with engine.begin() as conn:
        conn.execute(text("UPDATE responses SET psu = psu || '-' || (id % :parts) "
                          "WHERE uuid LIKE 'bench-%' AND psu IS NOT NULL"), {"parts": parts})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE responses"))
    engine.dispose()


def forget(rows: int) -> None:
    """Drop what an earlier run made: saved weights and cells, kept rows, published cells, roll-ups."""
    engine = create_engine(normalise_database_url(database_url(rows)))
    with engine.begin() as conn:
        for table in ("weight_snapshots", "response_csv", "weight_cells", "jobs"):
            conn.execute(text(f"DELETE FROM {table}"))
        for (name,) in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                         "AND tablename LIKE 'khaosat\\_rollup\\_%'")).all():
            conn.execute(text(f'DROP TABLE "{name}"'))
    engine.dispose()


def rollup_size(rows: int) -> tuple[list[int], int]:
    """(rows of each roll-up, the main one first; their size in bytes together)."""
    engine = create_engine(normalise_database_url(database_url(rows)))
    with engine.connect() as conn:
        names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND "
                                  "tablename LIKE 'khaosat\\_rollup\\_%' AND tablename NOT LIKE '%\\_\\_about' "
                                  "ORDER BY length(tablename), tablename")).scalars().all()
        groups = [int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()) for name in names]
        size = sum(int(conn.execute(text("SELECT pg_total_relation_size(:n)"), {"n": n}).scalar()) for n in names)
    engine.dispose()
    return groups, size


def peak_memory(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        out.append(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) // 1024)
    return out


def disclosure(client: Client, meter: CpuMeter, repeat: int) -> None:
    """The disclosure-risk page: from its first view (which queues the job that reads every record's quasi-identifiers
    and protects both files) until it shows the report, then its views."""
    path = "/research/digital-skills/disclosure"
    ready, slowest = client.ready(path)
    walls = [timed(client, meter, path)[0] for _ in range(repeat)]
    print(f"disclosure-risk page: measured and shown after {ready:.1f} s (slowest answer meanwhile {slowest:.3f} s); "
          f"then p50 {statistics.median(walls):.3f} s, p95 {p95(walls):.3f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the figures an earlier run made (pages only)")
    parser.add_argument("--split", type=int, default=20, help="PSUs each demo PSU becomes in the copies")
    parser.add_argument("--disclosure", action="store_true",
                        help="then the disclosure-risk page: its background measurement, then its views")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    research_pages.DATABASE = "khaosat_dbpages_{rows}"
    if not exists(args.rows):
        load(args.rows)
        split_units(args.rows, args.split)
    token, *_ = prepare(args.rows)
    if not args.keep:
        forget(args.rows)
    os.environ["KHAOSAT_CELLS_IN_DATABASE_THRESHOLD"] = str(args.rows // 2)
    print(f"{args.rows:,} responses, served by the database (threshold {args.rows // 2:,}); host speed "
          f"{host_speed.seconds():.3f} s; load average {os.getloadavg()[0]:.1f}", flush=True)
    server, port = serve(args.rows)
    try:
        client = Client(port, token)
        client.login()
        meter = CpuMeter(server.pid, database_url(args.rows))
        first = next(iter(PAGES.values()))
        ready, slowest = client.ready(first)
        groups, size = rollup_size(args.rows)
        print(f"ready after {ready:.1f} s (slowest answer meanwhile {slowest:.3f} s); roll-ups "
              f"{', '.join(f'{g:,}' for g in groups)} rows, {size / 2**20:.1f} MiB", flush=True)
        print(f"{'page':24} {'cold':>8} {'warm p50':>9} {'warm p95':>9} {'app CPU':>8} {'db CPU':>8}")
        for name, path in PAGES.items():
            cold = timed(client, meter, path)
            warm = [timed(client, meter, path) for _ in range(args.repeat)]
            walls = [w[0] for w in warm]
            print(f"{name:24} {cold[0]:8.3f} {statistics.median(walls):9.3f} {p95(walls):9.3f} "
                  f"{statistics.median(w[1] for w in warm):8.3f} {statistics.median(w[2] for w in warm):8.3f}",
                  flush=True)
        if args.disclosure:
            disclosure(client, meter, args.repeat)
        print(f"peak memory of the workers: {', '.join(f'{m} MiB' for m in peak_memory(meter.workers))}")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
