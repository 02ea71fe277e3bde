"""Open-loop load of POST /api/v1/submissions: a fixed rate, latency from the scheduled send time.

A closed-loop tool (wrk, bench/submissions_load.py) waits for each reply before sending the next, so
when the server stalls it also stops sending and the stall hides in a few slow samples ("coordinated
omission"). Here request i is due at ``start + i / rate`` whatever happened before: it goes out on a
free keep-alive connection (a new one when all are busy), and its latency is counted from when it was
due, not from when it went out, as wrk2 does. Prints the achieved rate, p50/p90/p99/p99.9, the
errors, the machine's load, and checks the database holds one row per 201 (none lost, none doubled).

    .venv/bin/python bench/submissions_open_loop.py --rate 300 --seconds 30 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/khaosat_submit [--schema bench_keep]

What is sent is bench/submissions_load.py's workload (50 volunteers, each its own interviews, 10% retries;
``--answers same`` for the duplicate worst case), on a new schema or, with ``--schema``, a kept one.

The client's own pauses count as the server's in an open loop (a send due during them goes out late), so
its heap (the demo's population, the workload) is frozen out of the garbage collector before the measured
run (``gc.freeze``), and its collections during the run are timed and printed: before this, a 65-106 ms
collection of the oldest generation in the client made the whole p99.9 (99-119 ms at 300/s, against
8-32 ms once frozen, 2026-11-27).

Hand-written on asyncio streams (HTTP/1.1, keep-alive, Content-Length replies only): wrk2 is not
packaged in Debian and no asynchronous HTTP client is among the project's dependencies.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from submissions_load import (  # noqa: E402 - bench scripts import their sibling
    CpuMeter,
    arguments,
    cleanup,
    count_rows,
    database,
    prepare_workload,
    start_gunicorn,
    wait_until_ready,
)

from bench import host_speed  # noqa: E402 - importable once submissions_load has put the root on the path

TIMEOUT_S = 10.0


class Client:
    """Connections to the server: a request takes a free kept-alive one or opens another."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def post(self, token: str, body: bytes) -> int:
        conn = self.free.pop() if self.free else await self._open()
        reader, writer = conn
        writer.write(b"POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        await reader.readexactly(int(headers.get(b"content-length", 0)))
        if headers.get(b"connection") == b"close":  # gunicorn's sync workers close after every reply
            writer.close()
        else:
            self.free.append(conn)
        return status

    async def _open(self):
        self.opened += 1
        return await asyncio.open_connection("127.0.0.1", self.port)


async def drive(client: Client, rate: float, seconds: float, sends) -> list[tuple[float, int, str]]:
    """Send ``rate`` requests a second for ``seconds``, the next of ``sends`` each time: (latency from the
    due time, status, uuid) each; status 0 for a timeout or a broken connection."""
    loop = asyncio.get_running_loop()
    results: list[tuple[float, int, str]] = []

    async def one(due: float, token: str, key: str, body: str) -> None:
        try:
            status = await asyncio.wait_for(client.post(token, body.encode()), TIMEOUT_S)
        except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            status = 0
        results.append((loop.time() - due, status, key))

    start = loop.time() + 0.2
    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        tasks.append(asyncio.create_task(one(due, *next(sends))))
    await asyncio.gather(*tasks)
    return results


def percentile(values: list[float], p: float) -> float:
    return 1000 * values[min(len(values) - 1, int(p * len(values)))]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--rate", type=float, default=300, help="submissions per second (fixed)")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    args.host_speed = host_speed.seconds()
    workdir = Path(tempfile.mkdtemp(prefix="khaosat-bench-"))
    url, schema = database(args, workdir)
    workload = prepare_workload(url, schema, args.volunteers, args.answers)
    server, port = start_gunicorn(url, schema, args.workers)
    meter = CpuMeter(server.pid, url)
    sends = workload.bodies(args.retry_share)
    try:
        wait_until_ready(port, args.workers)
        # warm-up, gently: every worker builds its caches (at the full rate an overloaded server would
        # start the measured run with a backlog of the warm-up's requests)
        asyncio.run(drive(Client(port), min(args.rate, 20), 3, sends))
        time.sleep(1)
        rows_before = count_rows(url, schema)
        meter.start()
        client = Client(port)
        gc.collect()
        gc.freeze()  # the client's heap out of its collector: its pauses would count as the server's
        pauses = ClientPauses()
        gc.callbacks.append(pauses)
        started = time.perf_counter()
        results = asyncio.run(drive(client, args.rate, args.seconds, sends))
        elapsed = time.perf_counter() - started
        gc.callbacks.remove(pauses)
        app_cpu, db_cpu = meter.stop()
        rows = count_rows(url, schema) - rows_before
    finally:
        server.terminate()
        server.wait(timeout=20)
        cleanup(url, None if args.schema else schema, workdir)
    report(args, results, elapsed, client.opened, rows, load_before, (app_cpu, db_cpu), schema)
    print(f"the client's own garbage collections during the run: {pauses.count}, longest "
          f"{1000 * pauses.longest:.1f} ms (a send due then goes out late)")


class ClientPauses:
    """A ``gc.callbacks`` entry: how many collections this process made, and the longest."""

    def __init__(self) -> None:
        self.count, self.longest, self._start = 0, 0.0, 0.0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count += 1
            self.longest = max(self.longest, time.perf_counter() - self._start)


def report(args, results, elapsed, connections, rows, load_before, cpu, schema) -> None:
    latencies = sorted(r[0] for r in results)
    statuses: dict[int, int] = {}
    for _, status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    created = statuses.get(201, 0)
    errors = len(results) - created - statuses.get(200, 0)
    print(f"backend: {'PostgreSQL' if schema else 'SQLite (WAL)'}; gunicorn workers: {args.workers}; open loop at "
          f"{args.rate:.0f}/s for {args.seconds:.0f} s; {args.volunteers} volunteers, answers {args.answers}, "
          f"{args.retry_share:.0%} retries; host speed {args.host_speed:.3f} s; load average before {load_before:.1f}, "
          f"after {os.getloadavg()[0]:.1f}")
    print(f"sent {len(results)} in {elapsed:.1f} s = {len(results) / elapsed:.0f}/s over {connections} connections; "
          f"statuses: {dict(sorted(statuses.items()))}; errors: {errors}")
    print(f"latency from the scheduled send, ms: p50 {percentile(latencies, 0.5):.1f}  "
          f"p90 {percentile(latencies, 0.9):.1f}  p99 {percentile(latencies, 0.99):.1f}  "
          f"p99.9 {percentile(latencies, 0.999):.1f}  max {1000 * latencies[-1]:.1f}")
    print(f"CPU per request: app workers {1000 * cpu[0] / len(results):.2f} ms, "
          f"database backends {1000 * cpu[1] / len(results):.2f} ms")
    unanswered = statuses.get(0, 0)  # stored or not: the phone keeps them and sends them again
    verdict = "OK: none lost, none doubled" if created <= rows <= created + unanswered else "MISMATCH"
    print(f"rows stored: {rows}; 201 answers: {created}; 200 (retries): {statuses.get(200, 0)}; "
          f"timed out (a phone would retry): {unanswered}; {verdict}")


if __name__ == "__main__":
    main()
