"""Two app processes, as two hosts behind a load balancer (gunicorn on two ports), against one PostgreSQL
and one Redis: a login made on one is valid on the other, and a rate limit counts requests to both.
(The job part is tests/web/test_jobs_two_apps.py.)"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL, unavailable, unique
from tests.web.test_hardening import REDIS_URL, require_redis
from tests.web.test_proxy import address
from tests.web.test_serve import free_port
from web import create_app, db
from web.auth import hash_password
from web.models import User

pytestmark = pytest.mark.postgres
PASSWORD = "two-hosts-password-1"


@pytest.fixture(scope="module")
def shared_database():
    """A schema of its own on the test PostgreSQL, migrated, with a researcher; (url, schema). For the
    module: its tests only add sessions and count failed logins from addresses of their own."""
    if not PG_URL:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    require_redis()
    schema = unique("two_apps")
    app = create_app({"TESTING": True, "DATABASE_URL": PG_URL,
                      "ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}}})
    with app.app_context():
        with db.engine().begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db.upgrade(db.engine())
        db.session().add(User(username="researcher", role="researcher", password_hash=hash_password(PASSWORD)))
        db.session().commit()
    yield PG_URL, schema
    with app.app_context():
        with db.engine().begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        db.engine().dispose()


class Host:
    """gunicorn serving the app on a port of its own, as one host behind the load balancer."""

    def __init__(self, url: str, schema: str, log) -> None:
        self.port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url, "PGOPTIONS": f"-csearch_path={schema}",
               "SECRET_KEY": "one-secret-for-every-host", "REDIS_URL": REDIS_URL, "KHAOSAT_TRUSTED_PROXIES": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                                         f"127.0.0.1:{self.port}", "web:create_app()"],
                                        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, opener) -> None:
        for _ in range(300):
            try:
                opener.open(self.url("/healthz"), timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the app did not start")


def login(opener, host: Host, password: str, forwarded_for: str) -> tuple[int, str]:
    """Post the login form on ``host`` as the client at ``forwarded_for``: (status, final URL)."""
    page = opener.open(host.url("/accounts/login"), timeout=10).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    data = urllib.parse.urlencode({"csrf_token": token.group(1) or token.group(2), "username": "researcher",
                                   "password": password}).encode()
    request = urllib.request.Request(host.url("/accounts/login"), data=data, headers={"X-Forwarded-For": forwarded_for})
    try:
        reply = opener.open(request, timeout=10)
        return reply.status, reply.url
    except urllib.error.HTTPError as error:
        return error.code, error.url


@pytest.fixture(scope="module")
def two_hosts(shared_database, tmp_path_factory):
    """Two gunicorn hosts, started once for the module (each start costs a few seconds of CPU)."""
    with open(tmp_path_factory.mktemp("two-apps") / "hosts.log", "wb") as log:
        hosts = [Host(*shared_database, log), Host(*shared_database, log)]
        try:
            yield hosts
        finally:
            for host in hosts:
                host.process.terminate()
                host.process.wait(timeout=20)


def test_a_login_on_one_host_is_valid_on_the_other(two_hosts):
    first, second = two_hosts
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    first.wait(opener)
    second.wait(opener)
    assert "/accounts/login" in opener.open(second.url("/research/"), timeout=10).url  # not logged in yet
    status, _ = login(opener, first, PASSWORD, address())
    assert status == 200
    reply = opener.open(second.url("/research/"), timeout=10)  # the same cookie, the other host
    assert reply.status == 200 and "/accounts/login" not in reply.url


def test_a_rate_limit_counts_requests_to_both_hosts(two_hosts):
    first, second = two_hosts
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    first.wait(opener)
    second.wait(opener)
    client = address()
    statuses = [login(opener, (first, second)[i % 2], "wrong-password-1", client)[0] for i in range(11)]
    assert statuses == [401] * 10 + [429]  # 10 a minute per address, five on each host, then refused on both
    assert login(opener, first, "wrong-password-1", client)[0] == 429
    assert login(opener, second, "wrong-password-1", address())[0] == 401  # another client is not affected
