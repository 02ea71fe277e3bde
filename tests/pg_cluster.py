"""A throwaway PostgreSQL server of our own: ``initdb`` in a temporary folder, its own port.

For the tests and benches that kill the server itself (tests/web/test_postmaster_kill.py) or give it a
streaming replica (tests/web/test_replica.py): the shared server on 5432 must never suffer that.
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user (its folder
is made in the system's temporary folder, which that user can reach; pytest's own is root's alone).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them out of PATH), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # a link in PATH: the folder of the real programs
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server in a folder of its own, with ``fsync`` and ``synchronous_commit`` on."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise FileNotFoundError("initdb")
        self.root = root or Path(tempfile.mkdtemp(prefix="khaosat-pg-"))
        self.data, self.port = self.root / "data", port or free_port()
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A PostgreSQL program from :func:`postgres_bin`, as the cluster's owner."""
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.owner is not None:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, cwd=self.root)

    def init(self, *settings: str) -> Cluster:
        """``initdb`` (trust for local connections), then start; ``settings`` go to postgresql.conf."""
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n".join(("fsync = on", "synchronous_commit = on", "max_connections = 60",
                                  "shared_buffers = 16MB", *settings)) + "\n")
        return self.start()

    def start(self) -> Cluster:
        """Start (after a crash: recover from the write-ahead log first) and wait until it takes connections."""
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "120", "-o",
                 f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")
        return self

    def replica(self) -> Cluster:
        """A streaming replica of this server (``pg_basebackup -R``: a standby that follows it), started.
        ``-c fast``: the backup's checkpoint at once; a spread one (the default) took 40 s here."""
        standby = Cluster()
        self.run("pg_basebackup", "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1",
                 "-p", str(self.port), "-U", "postgres")
        return standby.start()

    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill_postmaster(self, timeout: float = 30) -> None:
        """``kill -9`` of the postmaster alone; its backends notice and exit by themselves, and the next
        :meth:`start` recovers from the write-ahead log."""
        pid = self.postmaster()
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_running(p) for p in [pid, *children]):
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():  # a zombie until its parent (init) reaps it, which may take seconds;
            # PostgreSQL would take it for a live postmaster: the lock files naming it go
            for lock in (self.data / "postmaster.pid", self.root / f".s.PGSQL.{self.port}.lock"):
                lock.unlink(missing_ok=True)

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _running(pid: int) -> bool:
    """False for a process that is gone or a zombie (exited, not yet reaped by its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
