"""Real processes for the job tests: ``khaosat serve`` web processes, a browser-like HTTP client with its own
cookies (CSRF tokens read from the pages, as a browser posts them), and ``khaosat worker --burst``."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.web.test_serve import free_port

KHAOSAT = [sys.executable, "-c", "from web.cli import main; main()"]


def database_url(app) -> str:
    """The test app's database as a ``DATABASE_URL`` another process can use (its PostgreSQL schema included)."""
    url = app.config["DATABASE_URL"]
    options = app.config.get("ENGINE_OPTIONS", {}).get("connect_args", {}).get("options")
    return f"{url}?options={urllib.parse.quote(options)}" if options else url


def environment(app, **settings: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url(app),
            "SECRET_KEY": "jobs-test", "KHAOSAT_RATE_LIMITS": "0", **settings}


class WebProcess:
    """``khaosat serve`` on a free port (the development server: one process, threads, as ``make run``)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen([*KHAOSAT, "serve", "--port", str(self.port)], env=env, stdout=out,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120  # Python starts slowly on a loaded machine (over 30 s at a load of 15)
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()  # never left running after the test
        raise AssertionError(log.read_text())  # it died, or never answered: what it said

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def kill(self) -> None:
        """As a crash or an OOM kill does: no shutdown, no cleanup."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


class Visitor:
    """One person's browser, without JavaScript: its own cookies, following no redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, server: WebProcess) -> None:
        self.server = server
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._NoRedirect)

    def open(self, path: str, data: dict | None = None) -> tuple[int, dict, bytes]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.server.url(path), data=body, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def post(self, page: str, path: str, data: dict) -> tuple[int, dict, bytes]:
        """Post ``data`` to ``path`` with the CSRF token of the form on ``page``."""
        html = self.open(page)[2].decode()
        token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)
        return self.open(path, {"csrf_token": token, **data})

    def login(self, username: str, password: str = "correct-horse-9") -> None:
        status, headers, _ = self.post("/accounts/login", "/accounts/login",
                                       {"username": username, "password": password})
        assert status == 302, status

    def prepare(self, fmt: str, tier: str = "scientific") -> str:
        """Press "Prepare" on the survey's downloads page; the job's id."""
        status, headers, body = self.post("/research/digital-skills/downloads", "/research/digital-skills/prepare",
                                          {"fmt": fmt, "tier": tier})
        assert status == 303, (status, body[:500])
        return headers["Location"].rsplit("/", 1)[1]

    def status(self, job_id: str) -> dict:
        code, _, body = self.open(f"/research/my-downloads/{job_id}.json")
        assert code == 200, code
        return json.loads(body)

    def wait(self, job_id: str, until, seconds: float = 120) -> dict:
        deadline = time.monotonic() + seconds
        while not until(status := self.status(job_id)):
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        return status


def run_worker(env: dict[str, str], seconds: float = 300) -> str:
    """``khaosat worker --burst``: works through the queue, then exits; what it printed."""
    done = subprocess.run([*KHAOSAT, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=seconds)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr
