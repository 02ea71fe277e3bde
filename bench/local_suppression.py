"""Local suppression of a scientific-use file at survey sizes (``analysis.disclosure``), against the plain scan it
replaced.

    python bench/local_suppression.py                    # 100,000 and 1,000,000 records
    python bench/local_suppression.py 200000 --peer      # and the plain scan on the same records

The records are synthetic and their keys independent (126 wards, sex, 6 age bands, 8 ethnicities of which one holds
86%, ward type, disability 7%, 6 education levels, 5 income bands), the worst case for a file: few records share
their key, so many are at risk (real answers are correlated, and fewer are). The file is protected as the
scientific-use file is (the ward kept, every other key suppressed where needed until no record's individual risk
exceeds 0.02, with weights from 50 to 200). Printed per size: the records at risk, the seconds to measure the risk,
to suppress, and to measure it again after (missing values match every value, so that measure is slower), and the
values suppressed. ``--peer`` also runs the plain scan (each record at risk compared with every record for the ward
it keeps, the code before 2026-11-28) on the same records, checks it suppresses the same values, and prints the
ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import disclosure  # noqa: E402
from analysis.disclosure import local_suppression, measure_risk  # noqa: E402
from bench import host_speed  # noqa: E402

THRESHOLD = 0.02


def records(n: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame({
        "ward_code": rng.integers(0, 126, n), "sex": rng.integers(0, 2, n), "age_band": rng.integers(0, 6, n),
        "ethnicity": rng.choice(8, n, p=[.86, .04, .03, .02, .02, .01, .01, .01]), "area_type": rng.integers(0, 2, n),
        "disability": rng.choice(2, n, p=[.93, .07]), "education": rng.integers(0, 6, n),
        "income": rng.integers(0, 5, n)})
    return keys, rng.uniform(50, 200, n)


def plain_scan(codes: np.ndarray, kept: list[int]):
    """The candidates of the former code: every record compared with the one at risk on the kept keys."""
    sub = codes[:, kept]

    def candidates(i: int) -> np.ndarray:
        row = sub[i]
        return np.flatnonzero(((sub == row) | (sub == disclosure.MISSING) | (row == disclosure.MISSING)).all(axis=1))
    return candidates


def suppress(keys: pd.DataFrame, weights: np.ndarray) -> tuple[disclosure.Suppression, float]:
    start = time.perf_counter()
    done = local_suppression(keys, weights=weights, threshold=THRESHOLD, keep=["ward_code"])
    return done, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--peer", action="store_true", help="also run the plain scan (slow: ~10 min at 200,000)")
    args = parser.parse_args()
    print(f"host speed {host_speed.seconds():.3f} s; risk threshold {THRESHOLD}, the ward kept")
    for n in args.sizes:
        keys, weights = records(n)
        start = time.perf_counter()
        before = measure_risk(keys, weights, THRESHOLD)
        measured = time.perf_counter() - start
        done, seconds = suppress(keys, weights)
        start = time.perf_counter()
        after = measure_risk(done.keys, weights, THRESHOLD)
        again = time.perf_counter() - start
        print(f"{n:>9,} records: {before.above_threshold:,} at risk; measure {measured:.2f} s, suppress "
              f"{seconds:.1f} s, measure after {again:.1f} s; {sum(done.suppressed.values()):,} values suppressed, "
              f"largest risk after {after.max_risk:.4f}", flush=True)
        if args.peer:
            listed = disclosure._candidates
            disclosure._candidates = plain_scan
            try:
                scanned, peer = suppress(keys, weights)
            finally:
                disclosure._candidates = listed
            same = scanned.keys.equals(done.keys)
            print(f"{'':>9}  plain scan: suppress {peer:.1f} s ({peer / seconds:.1f}x); same values suppressed: "
                  f"{same}", flush=True)


if __name__ == "__main__":
    main()
