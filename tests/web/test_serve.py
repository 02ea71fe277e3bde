"""`khaosat serve` (what `make run` ends with) really serves the app over HTTP."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.slow  # a server in another process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_healthz_and_speaks_vietnamese(sqlite_template, tmp_path):
    db = tmp_path / "serve.sqlite"
    shutil.copy(sqlite_template, db)
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{db}", "SECRET_KEY": "serve-test", "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "-c", "from web.cli import main; main()", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body = None
        for _ in range(600):  # up to a minute: Python starts slowly on a loaded machine
            if process.poll() is not None:
                break  # it died: say so below rather than wait
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b'{"db":"ok","status":"ok"}\n'
        home = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert '<html lang="vi">' in home
    finally:
        process.terminate()
        process.wait(timeout=10)
