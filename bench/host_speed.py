"""How fast this host runs Python today: one fixed pure-Python workload, best of three, in seconds.

The suite's time and the submissions per second depend on the machine as much as on the code: the same commit
took 509 s on one day's machine and 868 s on the next. CI prints this figure before the suite (``.ci/run``) so
that a time can be read against the host it was measured on (``bench/RESULTS.md``, "Host speed").

    python3 bench/host_speed.py
"""

from __future__ import annotations

import time


def workload() -> int:
    """Integer arithmetic, a dict and string formatting: the kind of work a request does in Python."""
    seen: dict[str, int] = {}
    total = 0
    for i in range(600_000):
        key = f"w{i % 3321}"
        seen[key] = seen.get(key, 0) + i
        total += i * i % 7
    return total + len(seen)


def seconds() -> float:
    """The workload's best time of three: what the benches print beside their figures."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        workload()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"host speed: {seconds():.3f} s for the fixed Python workload (best of 3; lower is faster)")


if __name__ == "__main__":
    main()
