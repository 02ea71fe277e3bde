"""Behind a reverse proxy: real HTTP requests to gunicorn carrying X-Forwarded-For, and the start-up
warning about rate limits counted per worker; then proto and host through the proxy fix."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.web.test_hardening import REDIS_URL, require_redis
from tests.web.test_serve import free_port
from web import create_app, proxy

pytestmark = pytest.mark.slow  # gunicorn workers in other processes

WARNING = "rate limits are counted in memory by each of 2 gunicorn workers"


class Gunicorn:
    """gunicorn serving the app on a copy of the test database, as the README's recipe runs it."""

    def __init__(self, sqlite_template, tmp_path, workers: int, **env: str) -> None:
        database = tmp_path / f"proxy-{uuid.uuid4().hex[:6]}.sqlite"
        shutil.copy(sqlite_template, database)
        self.port = free_port()
        self.log = tmp_path / f"gunicorn-{self.port}.log"
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": f"sqlite:///{database}",
                       "SECRET_KEY": "proxy-test", **env}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                 "web:create_app()"], env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd())
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        for _ in range(150):
            try:
                self.opener.open(self.url("/healthz"), timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(self.log.read_text())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def failed_login(self, forwarded_for: str | None) -> int:
        """A login with a wrong password (and a valid CSRF token), as the resident at that address."""
        page = self.opener.open(self.url("/accounts/login"), timeout=10).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
        data = urllib.parse.urlencode({"csrf_token": token.group(1) or token.group(2), "username": "nobody",
                                       "password": "wrong-password-1"}).encode()
        request = urllib.request.Request(self.url("/accounts/login"), data=data)
        if forwarded_for is not None:
            request.add_header("X-Forwarded-For", forwarded_for)
        try:
            return self.opener.open(request, timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=20)
        return self.log.read_text()


@pytest.fixture
def serve(sqlite_template, tmp_path):
    servers = []

    def start(workers: int, **env: str) -> Gunicorn:
        servers.append(Gunicorn(sqlite_template, tmp_path, workers, **env))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.stop()


def address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(serve):
    server = serve(1, KHAOSAT_TRUSTED_PROXIES="0")
    statuses = [server.failed_login(address()) for _ in range(11)]
    assert statuses == [401] * 10 + [429]


def test_behind_one_proxy_limits_count_per_real_client_across_workers_in_redis(serve):
    require_redis()
    server = serve(2, KHAOSAT_TRUSTED_PROXIES="1", REDIS_URL=REDIS_URL)
    resident, neighbour = address(), address()
    assert [server.failed_login(resident) for _ in range(10)] == [401] * 10
    assert server.failed_login(resident) == 429  # the 11th, whichever worker answers
    assert server.failed_login(f"{neighbour}, {resident}") == 429  # a forged first hop: the proxy's own is last
    assert server.failed_login(neighbour) == 401  # everyone else behind the proxy can still log in
    assert WARNING not in server.stop()


def test_several_workers_with_limits_in_memory_warn_at_start(serve):
    server = serve(2, KHAOSAT_TRUSTED_PROXIES="1")
    deadline = time.monotonic() + 30
    while server.log.read_text().count(WARNING) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both workers have started (one answered already): each warns at its start
    log = server.stop()
    assert WARNING in log and "set REDIS_URL" in log


def test_a_bad_number_of_proxies_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("KHAOSAT_TRUSTED_PROXIES", "one")
    with pytest.raises(ValueError, match="KHAOSAT_TRUSTED_PROXIES must be a whole number"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})


@pytest.mark.parametrize("hops", [0, 1])
def test_proto_and_host_come_from_the_proxy_only_when_trusted(app, client, accounts, hops):
    app.config["KHAOSAT_TRUSTED_PROXIES"] = hops
    proxy.init_app(app)
    accounts.login("supervisor")
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "khaosat.hanoi.vn"}
    response = client.get("/collect/poster/digital-skills", headers=headers)
    page = response.get_data(as_text=True)
    if hops:
        assert "https://khaosat.hanoi.vn/s/digital-skills" in page
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    else:
        assert "http://localhost/s/digital-skills" in page and "khaosat.hanoi.vn" not in page
        assert "Strict-Transport-Security" not in response.headers
