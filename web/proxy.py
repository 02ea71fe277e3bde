"""Running behind reverse proxies and several workers.

``KHAOSAT_TRUSTED_PROXIES=N`` trusts the ``X-Forwarded-For``, ``-Proto`` and ``-Host`` headers set
by the last N proxies (Werkzeug's ``ProxyFix``), so that ``request.remote_addr`` is the resident's
or volunteer's own address (rate limits count per real client), HTTPS is known behind a
TLS-terminating proxy, and links carry the public host name. With 0 (the default) the headers are
ignored: a client cannot forge its address by sending them.

Rate-limit counters in memory are per process: several gunicorn workers each count on their own,
so a limit of 10 becomes up to 10 per worker. :func:`warn_about_split_limits` says so at start-up.
"""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = int(app.config.get("KHAOSAT_TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    warn_about_split_limits(app)


def gunicorn_workers() -> int | None:
    """How many workers the gunicorn running this process has, or None outside gunicorn.

    Read the way gunicorn itself reads it (command line, ``GUNICORN_CMD_ARGS``, its config file,
    ``WEB_CONCURRENCY``), since a worker is not told the count.
    """
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        return None
    cwd = os.getcwd()
    try:
        from gunicorn.app.wsgiapp import WSGIApplication

        return int(WSGIApplication().cfg.workers)
    except (Exception, SystemExit):  # noqa: BLE001 - a guess for a warning must never stop the start
        return None
    finally:
        os.chdir(cwd)


def warn_about_split_limits(app: Flask) -> None:
    """Log a warning when several gunicorn workers keep rate-limit counters in memory."""
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    storage = str(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    workers = gunicorn_workers()
    if storage.startswith("memory://") and workers is not None and workers > 1:
        app.logger.warning(
            "rate limits are counted in memory by each of %d gunicorn workers, so each limit is in effect "
            "up to %d times higher: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to share the counters",
            workers, workers)
