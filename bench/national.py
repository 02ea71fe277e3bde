"""Benchmark: raked estimates over 10,000,000 national responses, pushed down to PostgreSQL.

Usage::

    python bench/national.py --url postgresql://postgres@127.0.0.1:5432/khaosat_scale [--rows 10000000] [--keep]
    python bench/national.py --url ... --measure-only     # the table a --keep run left: measure only (~1-2 min)

Creates the table ``national_responses`` (dropped at the end unless ``--keep``; ``--reuse`` or
``--measure-only`` use a loaded one) and COPY-loads ``--rows`` synthetic responses in chunks of 1,000,000:
the 34 provinces and 3,321 communes of ``surveys.areas``, strata province x urban/rural (wards are urban),
communes as PSUs (or ``--villages`` PSUs per commune), commune sizes drawn once, base weight N_h / n_h, sex,
six age bands, a score (2% missing). Then it makes ndistinct statistics on the design and margin columns
(without them PostgreSQL expects a million groups and aggregates in one process), and times, with
:class:`analysis.SqlDesign`, the base weights raked to province x sex and province x age band (the
cross-table: 408 cells) and the weighted mean of the score with its SE (raking residuals included) by
3,321 communes and by 34 provinces, twice:

* **direct**: every estimate scans the 10,000,000 rows;
* **served**: the background refresh builds the roll-up ``national_responses_rollup`` (one scan: the sums
  per stratum x PSU x commune x province x raking cell, :mod:`analysis.rollup`; its build time is printed
  apart), and the raking and the estimates read it; the bench prints how far they are from the direct ones.

Each step prints its wall time, the Python process's CPU, the PostgreSQL CPU (the bench's one backend and
the parallel workers it starts, read from ``/proc``: PostgreSQL must run on this machine) and the peak
memory: the process's resident set high-water mark (``VmHWM`` in ``/proc/self/status``), reset before each
step by writing 5 to ``/proc/self/clear_refs``. The query plan of the communes' direct query is printed
(EXPLAIN ANALYZE). The project's budget for it: communes <= 10 s, provinces <= 3 s, memory <= 2 GiB.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from analysis import SqlDesign  # noqa: E402
from analysis.rollup import Rollup  # noqa: E402
from surveys import areas  # noqa: E402

TABLE = "national_responses"
AGES = np.array([1, 2, 3, 4, 5, 6])  #: age bands 15-24, 25-34, 35-44, 45-59, 60-74, 75+
AGE_SHARES = np.array([0.19, 0.20, 0.19, 0.22, 0.14, 0.06])
CHUNK = 1_000_000
SETTINGS = "-c work_mem=256MB -c max_parallel_workers_per_gather=2"  #: the hash of ~40,000 groups in memory


def geography() -> pd.DataFrame:
    """One row per commune: province, commune code, urban (a ward, "phường"), stratum."""
    rows = [(p.code, w.code, int(w.division_type == "phường")) for p in areas.provinces() for w in areas.wards(p.code)]
    geo = pd.DataFrame(rows, columns=["province", "commune", "urban"])
    geo["stratum"] = geo["province"] * 2 + geo["urban"]
    return geo


def _shares(geo: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    size = rng.gamma(4.0, 1.0, len(geo))
    return size / size.sum()


def _chunk(geo: pd.DataFrame, commune_index: np.ndarray, weight: np.ndarray, rng: np.random.Generator,
           villages: int) -> str:
    n = len(commune_index)
    g = geo.iloc[commune_index]
    age = rng.choice(AGES, n, p=AGE_SHARES)
    sex = rng.integers(1, 3, n)
    score = (55 + (g["province"].to_numpy() % 7) + 6 * g["urban"].to_numpy() - 2.5 * age + 1.5 * (sex == 1)
             + rng.normal(0, 12, n))
    frame = pd.DataFrame({"province": g["province"].to_numpy(), "commune": g["commune"].to_numpy(),
                          "stratum": g["stratum"].to_numpy(),
                          "psu": g["commune"].to_numpy() * 100 + rng.integers(0, villages, n), "sex": sex,
                          "age_band": age, "weight": weight[commune_index],
                          "score": np.where(rng.random(n) < 0.02, np.nan, np.round(score, 2))})
    return frame.to_csv(index=False, header=False, na_rep="")


def load(url: str, rows: int, villages: int = 1, seed: int = 1, table: str = TABLE) -> pd.DataFrame:
    """Create and COPY-load the table; return the geography with sample sizes and weights."""
    geo, rng = load_geography(rows, seed)
    per_stratum = geo.groupby("stratum")[["n", "population"]].transform("sum")
    geo["weight"] = per_stratum["population"] / per_stratum["n"].clip(lower=1)
    order = np.repeat(np.arange(len(geo)), geo["n"].to_numpy())
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (province smallint NOT NULL, commune integer NOT NULL, stratum smallint "
                     "NOT NULL, psu integer NOT NULL, sex smallint NOT NULL, age_band smallint NOT NULL, "
                     "weight double precision NOT NULL, score double precision)")
        with conn.cursor() as cur:
            for first in range(0, rows, CHUNK):
                data = _chunk(geo, order[first:first + CHUNK], geo["weight"].to_numpy(), rng, villages)
                with cur.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(data)
                print(f"  loaded {min(first + CHUNK, rows):,} rows", flush=True)
        # the number of (unit x domain x cell) groups, so the planner aggregates in parallel workers
        conn.execute(f"CREATE STATISTICS {table}_cells (ndistinct) ON stratum, psu, commune, province, sex, "
                     f"age_band FROM {table}")
        conn.execute(f"VACUUM ANALYZE {table}")
    return geo


def margins(geo: pd.DataFrame) -> dict:
    """Population by province x sex and province x age band (adults ~ 0.75 of the communes' totals)."""
    pop = geo.groupby("province")["population"].sum()
    sex = {(p, s): round(n * share) for p, n in pop.items() for s, share in ((1, 0.49), (2, 0.51))}
    age = {(p, a): round(n * share) for p, n in pop.items() for a, share in zip(AGES, AGE_SHARES, strict=True)}
    return {("province", "sex"): sex, ("province", "age_band"): age}


def _peak_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process of this machine, in seconds (0 when it has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCPU:
    """CPU seconds of one PostgreSQL backend (on this machine) and of the parallel workers it starts.

    The backend's own time is exact (``/proc/PID/stat`` before and after); a parallel worker lives only
    for one query, so a thread samples ``/proc`` every :attr:`every` seconds for processes named
    "parallel worker for PID <backend>" and keeps each one's last reading (what a worker spends after its
    last sample, at most ``every`` seconds, is missed). The thread's own CPU is not counted as Python's.
    """

    every = 0.05

    def __init__(self, pid: int) -> None:
        self.pid, self.workers, self.poll_cpu = pid, {}, 0.0
        self._stop = threading.Event()
        self._marker = f"parallel worker for PID {pid}".encode()

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            for pid in self._worker_pids():
                self.workers[pid] = max(_cpu_seconds(pid), self.workers.get(pid, 0.0))
        self.poll_cpu = time.thread_time()

    def _worker_pids(self) -> list[int]:
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                if pid in self.workers or self._marker in Path(entry.path, "cmdline").read_bytes():
                    found.append(pid)
            except OSError:
                continue
        return found

    def __enter__(self) -> BackendCPU:
        self._start = _cpu_seconds(self.pid)
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = _cpu_seconds(self.pid) - self._start + sum(self.workers.values())


def timed(label: str, call, backend: int):
    """Run ``call`` and print its wall time, Python CPU, PostgreSQL CPU (``backend``'s and its parallel
    workers') and the peak resident set; returns (its result, wall seconds)."""
    _peak_reset()
    start, cpu = time.perf_counter(), time.process_time()
    with BackendCPU(backend) as pg:
        result = call()
        wall = time.perf_counter() - start
    python = time.process_time() - cpu - pg.poll_cpu
    print(f"{label:46} wall {wall:7.2f} s  python cpu {python:6.2f} s  postgres cpu {pg.seconds:6.2f} s  "
          f"peak RSS {_peak_mib():7.1f} MiB", flush=True)
    return result, wall


def design(engine, geo: pd.DataFrame, table: str = TABLE) -> SqlDesign:
    """The served design: base weights raked to province x sex and province x age band."""
    return _plain(engine, table).rake(margins(geo), max_iter=50)


def _plain(engine, table: str = TABLE) -> SqlDesign:
    return SqlDesign(engine, table, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust")


def build_rollup(engine, table: str = TABLE) -> Rollup:
    """The background refresh: one scan writes the roll-up (stratum x PSU x commune x province x the raking
    cells: sums of the score) that the served estimates read."""
    return _plain(engine, table).build_rollup(f"{table}_rollup", ["score"], by=["commune", "province"],
                                              cells=["province", "sex", "age_band"])


def served(engine, geo: pd.DataFrame, rollup: Rollup, table: str = TABLE) -> SqlDesign:
    """The served design read from the roll-up: the same raking, the same estimates."""
    return _plain(engine, table).with_rollup(rollup).rake(margins(geo), max_iter=50)


def plan(engine) -> None:
    """EXPLAIN ANALYZE of the communes' aggregate (the query SqlDesign sends), its main lines."""
    keys = "stratum, psu, commune, province, sex, age_band"
    sql = (f"EXPLAIN (ANALYZE, BUFFERS) SELECT {keys}, SUM(weight) FILTER (WHERE score IS NOT NULL), "
           f"SUM(weight * score) FILTER (WHERE score IS NOT NULL) FROM {TABLE} GROUP BY {keys}")
    with engine.connect() as conn:
        for (line,) in conn.execute(text(sql)):
            if any(k in line for k in ("Aggregate", "Gather", "Scan", "Execution", "Workers", "Memory", "Sort ")):
                print("   ", line)


def _differ(got: pd.DataFrame, want: pd.DataFrame, key: str) -> float:
    """The largest relative difference of estimates and SEs between two results."""
    got, want = got.set_index(key).sort_index(), want.set_index(key).sort_index()
    return max(float(np.nanmax(np.abs(got[c] / want[c] - 1))) for c in ("estimate", "se"))


def measure(engine, geo: pd.DataFrame, backend: int) -> None:
    """Direct (scan) figures, the roll-up's build, served (roll-up) figures, and how they compare."""
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]}; direct: every estimate scans the rows")
    raked, _ = timed("rake (408-cell cross-table)", lambda: design(engine, geo), backend)
    communes, c_wall = timed("mean + SE by 3,321 communes (raked)", lambda: raked.mean("score", by="commune"),
                             backend)
    provinces, p_wall = timed("mean + SE by 34 provinces (raked)", lambda: raked.mean("score", by="province"),
                              backend)
    print(f"communes: {len(communes)} rows, median SE {communes['se'].median():.3f}; "
          f"provinces: {len(provinces)} rows, median SE {provinces['se'].median():.4f}")
    print("background refresh: the roll-up (one scan)")
    rollup, _ = timed("build the roll-up", lambda: build_rollup(engine), backend)
    print(f"  {rollup.groups:,} roll-up rows for {rollup.rows:,} responses, as of {rollup.built_at:%H:%M:%S} UTC")
    print("served: estimates read the roll-up")
    raked, _ = timed("rake (408-cell cross-table, roll-up)", lambda: served(engine, geo, rollup), backend)
    s_communes, sc_wall = timed("mean + SE by 3,321 communes (raked, roll-up)",
                                lambda: raked.mean("score", by="commune"), backend)
    s_provinces, sp_wall = timed("mean + SE by 34 provinces (raked, roll-up)",
                                 lambda: raked.mean("score", by="province"), backend)
    print(f"served vs direct: largest relative difference {_differ(s_communes, communes, 'commune'):.1e} "
          f"(communes), {_differ(s_provinces, provinces, 'province'):.1e} (provinces); "
          f"{c_wall / sc_wall:.0f}x and {p_wall / sp_wall:.0f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--villages", type=int, default=1,
                        help="PSUs per commune (villages; default 1: communes are the PSUs, as the national demo)")
    parser.add_argument("--keep", action="store_true", help="keep the table")
    parser.add_argument("--reuse", action="store_true", help="use the table a --keep run left (same --rows)")
    parser.add_argument("--measure-only", action="store_true", help="--reuse --keep: measure the loaded table")
    args = parser.parse_args()
    engine = create_engine(args.url, connect_args={"options": SETTINGS}, pool_size=1, max_overflow=0)
    if args.reuse or args.measure_only:
        geo = load_geography(args.rows)[0]
    else:
        started = time.perf_counter()
        geo = load(args.url, args.rows, args.villages)
        print(f"COPY-loaded {args.rows:,} rows (3,321 communes, 68 strata) in {time.perf_counter() - started:.0f} s")
    with engine.connect() as conn:  # the one pooled connection: every query below runs in this backend
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    measure(engine, geo, backend)
    plan(engine)
    if not (args.keep or args.measure_only):
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {TABLE}"))
            for name in (f"{TABLE}_rollup", f"{TABLE}_rollup__about"):
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


def load_geography(rows: int, seed: int = 1) -> tuple[pd.DataFrame, np.random.Generator]:
    """The geography a load with the same ``rows`` and seed makes (its sizes and populations)."""
    rng = np.random.default_rng(seed)
    geo = geography()
    geo["n"] = rng.multinomial(rows, _shares(geo, rng))
    geo["population"] = rng.integers(8_000, 60_000, len(geo))
    return geo, rng


if __name__ == "__main__":
    main()
