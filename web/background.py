"""The threads a web process runs beside its requests, kept per app so that they can be let finish.

Three kinds run in a web process: the in-process job queue (:class:`web.jobs.ThreadQueue`), a table or ranking
computed aside while its page says "being computed", and weights made again (or loaded) after new responses
(:mod:`web.research.weighting`). Each is started by :func:`start`, which records it on its app, so that
:func:`finish` can end them: a test's app lets its threads end before the next test empties the same
database (a thread left running would write the last test's weights or job rows into the next one's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask

_lock = threading.Lock()


def start(app: Flask, target: Callable[[], None], name: str) -> threading.Thread:
    """Run ``target`` in a daemon thread recorded on ``app``."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _lock:
        running = {t for t in app.extensions.get("khaosat_threads", ()) if t.is_alive()}
        app.extensions["khaosat_threads"] = running | {thread}
    thread.start()
    return thread


def finish(app: Flask, seconds: float) -> list[str]:
    """End the app's background work: its job queue starts no more jobs (those queued stay queued for a later
    process) and asks the running one to stop; then wait up to ``seconds`` in all for its threads. The names
    of those still running then."""
    queue = app.extensions.get("khaosat_jobs")
    if queue is not None:
        queue.stop()
    deadline = time.monotonic() + seconds
    with _lock:
        threads = list(app.extensions.get("khaosat_threads", ()))
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threads if t.is_alive()]
