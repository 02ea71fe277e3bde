"""Crash test: ``kill -9`` of the PostgreSQL postmaster during a burst of submissions, then recovery.

A throwaway cluster of its own (tests/pg_cluster.py: ``initdb`` in a temporary folder, another port,
``fsync`` and ``synchronous_commit`` on; never the shared server) serves gunicorn (2 workers). Client
threads send interviews, each with a new uuid; after ``--before`` seconds the postmaster is killed,
``--down`` seconds later the cluster is started again (crash recovery from the write-ahead log), and
the clients go on for ``--after`` seconds. Then, as a phone's offline queue does, every interview
that did not get a 201/200 is sent again. Checks: every acknowledged interview is stored, exactly once;
every retried one is stored once; the table holds nothing else.

    .venv/bin/python bench/postmaster_kill.py --port 55432

tests/web/test_postmaster_kill.py runs the same, shorter, in CI.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.submissions_load import prepare, start_gunicorn, wait_until_ready  # noqa: E402
from tests.pg_cluster import Cluster  # noqa: E402
from web.config import normalise_database_url  # noqa: E402


@dataclass
class Burst:
    """What the clients saw and what the database holds after recovery."""

    statuses: Counter = field(default_factory=Counter)  #: status -> count during the burst (0: no reply)
    acknowledged: set[str] = field(default_factory=set)  #: uuids answered 201/200
    unacknowledged: set[str] = field(default_factory=set)  #: uuids sent but never acknowledged
    retried: Counter = field(default_factory=Counter)  #: statuses of the unacknowledged ones sent again
    stored: Counter = field(default_factory=Counter)  #: uuid -> rows after recovery
    recovery_s: float = 0.0  #: from the kill to the next acknowledged submission

    @property
    def lost(self) -> set[str]:
        return {u for u in self.acknowledged | self.unacknowledged if self.stored[u] == 0}

    @property
    def doubled(self) -> set[str]:
        return {u for u, n in self.stored.items() if n > 1}

    @property
    def strangers(self) -> set[str]:
        return set(self.stored) - self.acknowledged - self.unacknowledged


class Sender:
    """One client: POSTs interviews over its own connection (a new one after any failure)."""

    def __init__(self, port: int, token: str, version: int, answers: dict) -> None:
        self.port, self.version, self.answers = port, version, answers
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def send(self, key: str) -> int:
        body = json.dumps({"uuid": key, "survey": "digital-skills", "version": self.version,
                           "answers": self.answers, "meta": {"language": "vi"}})
        try:
            self.conn.request("POST", "/api/v1/submissions", body=body, headers=self.headers)
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            return 0


def burst_with_kill(cluster: Cluster, before: float = 1.5, down: float = 1.0, after: float = 2.0,
                    clients: int = 6, workers: int = 2) -> Burst:
    """Run the burst against ``cluster`` (started), killing and restarting its postmaster; see the module."""
    token, version, answers = prepare(cluster.url(), None)
    server, port = start_gunicorn(cluster.url(), None, workers)
    burst, lock, stop = Burst(), threading.Lock(), threading.Event()
    killed_at: list[float] = []

    def client() -> None:
        sender = Sender(port, token, version, answers)
        while not stop.is_set():
            key = str(uuid.uuid4())
            status = sender.send(key)
            with lock:
                burst.statuses[status] += 1
                (burst.acknowledged if status in (200, 201) else burst.unacknowledged).add(key)
                if status in (200, 201) and killed_at and not burst.recovery_s:
                    burst.recovery_s = time.monotonic() - killed_at[0]
            if status not in (200, 201):
                time.sleep(0.05)

    try:
        wait_until_ready(port, workers)
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        time.sleep(before)
        killed_at.append(time.monotonic())
        cluster.kill_postmaster()
        time.sleep(down)
        cluster.start()
        time.sleep(after)
        stop.set()
        for t in threads:
            t.join()
        sender = Sender(port, token, version, answers)  # the phones' queues, sent again
        for key in sorted(burst.unacknowledged):
            burst.retried[sender.send(key)] += 1
    finally:
        stop.set()  # after a failed kill or restart too: the clients would send to a dead server for ever
        server.terminate()
        server.wait(timeout=30)
    burst.stored = _stored(cluster.url())
    return burst


def _stored(url: str) -> Counter:
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT uuid, count(*) FROM responses GROUP BY uuid")).all()
    engine.dispose()
    return Counter(dict(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=55432, help="the throwaway cluster's port")
    parser.add_argument("--before", type=float, default=5, help="seconds of submissions before the kill")
    parser.add_argument("--down", type=float, default=2, help="seconds the server stays down")
    parser.add_argument("--after", type=float, default=5, help="seconds of submissions after the restart")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    cluster = Cluster(port=args.port).init()
    try:
        burst = burst_with_kill(cluster, args.before, args.down, args.after, args.clients, args.workers)
    finally:
        cluster.remove()
    print(f"postmaster killed after {args.before:.0f} s of {args.clients} clients, down {args.down:.0f} s, "
          f"then {args.after:.0f} s more; gunicorn workers: {args.workers}")
    print(f"during the burst: {dict(sorted(burst.statuses.items()))} (0: no reply); first acknowledgement "
          f"{burst.recovery_s:.1f} s after the kill")
    print(f"acknowledged: {len(burst.acknowledged)}; not acknowledged, sent again: {len(burst.unacknowledged)} "
          f"-> {dict(sorted(burst.retried.items()))}")
    print(f"rows after recovery: {sum(burst.stored.values())}; lost: {len(burst.lost)}; doubled: "
          f"{len(burst.doubled)}; not sent by anyone: {len(burst.strangers)}; "
          f"{'OK' if not (burst.lost or burst.doubled or burst.strangers) else 'FAILED'}")


if __name__ == "__main__":
    main()
