"""Browser tests: the real app served on localhost, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.conftest import unavailable
from web import create_app

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SHUTDOWN_POLL_SECONDS = 0.05  #: how often a served app looks whether it is to stop (the default 0.5 s: per test)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        unavailable("Chromium not found (set CHROMIUM or install Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def live_app(sqlite_template, tmp_path):
    """The app on a free localhost port, with its own copy of the prepared SQLite database."""
    path = tmp_path / "live.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "browser-test"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True)
    thread.start()
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join()


@pytest.fixture
def live_demo(live_app, demo_templates):
    """``live_demo(per_ward)`` puts the demo (seeded once per session) in the live app's database."""
    return lambda per_ward=32: demo_templates.copy_into(live_app, per_ward)


@pytest.fixture
def phone(browser):
    """A page the size of a small Android phone (360x740)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()
