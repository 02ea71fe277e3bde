"""The long command-line runs show a progress bar on a terminal (and print only their result in a pipe or
a log): migrations (``init-db``), ``import-form`` and ``demo``."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import struct
import subprocess
import termios

import pytest

from tests.web.live_processes import KHAOSAT
from web import db

pytestmark = pytest.mark.slow  # commands on a pseudo-terminal


def on_terminal(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """Run ``khaosat ARGS`` with its error stream on a 120-column terminal: (what the terminal showed, stdout)."""
    main, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    done = subprocess.run([*KHAOSAT, *args], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
                          stdout=subprocess.PIPE, stderr=follower, timeout=600)
    os.close(follower)
    shown = b""
    while True:
        try:
            block = os.read(main, 65536)
        except OSError:  # the terminal is closed once everything was read
            break
        if not block:
            break
        shown += block
    os.close(main)
    assert done.returncode == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace"), done.stdout.decode()


def revisions() -> int:
    return len(list((db.MIGRATIONS / "versions").glob("*.py")))


def test_migrations_show_a_bar_on_a_terminal(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}", "SECRET_KEY": "cli"}
    shown, printed = on_terminal(["init-db"], env)
    assert "database migrations:" in shown and f"{revisions()}/{revisions()}" in shown
    assert "database ready" in printed and "migrations" not in printed  # a pipe gets the result only
    again, _ = on_terminal(["init-db"], env)
    assert "database migrations" not in again  # nothing to apply, no bar


def test_import_form_and_demo_show_bars(sqlite_template, tmp_path):
    database = tmp_path / "demo.sqlite"
    shutil.copy(sqlite_template, database)
    env = {"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "cli"}
    form = "tests/fixtures/surveys/valid.yaml"
    shown, printed = on_terminal(["import-form", form, "--controller", "Sở", "--contact", "a@b.vn"], env)
    assert "2/2" in shown and "publishing" in shown
    shown, printed = on_terminal(["demo", "--per-ward", "2"], env)
    assert "digital-skills:" in shown and "response/s" in shown
    assert "demo responses added" in printed
