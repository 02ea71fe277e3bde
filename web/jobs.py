"""Long work in the background (a large download): one interface, two queues, one table.

A page calls :func:`submit` and from then on reads the ``jobs`` row (:class:`web.models.Job`): its status,
progress, file and owner. What runs the work depends on ``KHAOSAT_JOB_QUEUE``:

``thread`` (the default, nothing else to run)
    a thread in the web process takes the jobs that process submitted, one at a time;
``rq``
    the job's id goes to an RQ queue in Redis (``REDIS_URL``) and ``khaosat worker`` runs it, in a process
    of its own, so the web processes may restart, and any number of them share the work.

Either way the work is :func:`execute`: it claims the row, runs the task registered with :func:`task` for
the job's kind as a request of its owner (their language, their role), and stores the task's file under
``KHAOSAT_JOB_DIR``. The task reports each chunk through :class:`Progress`, which also stops it with
:class:`Cancelled` once the owner cancels; its half-written files, kept in the job's own working folder
(:data:`WORK_DIR`), are removed then and on any failure.

A job outlives the process that queued or ran it: :func:`recover` (the web process's first request in
thread mode, ``khaosat worker`` at its start) puts back in the queue the jobs whose holder process on this
machine has ended, and on RQ the waiting jobs whose entry Redis has lost (a restart without persistence; also
checked every clean-up period); a job restarts from the beginning (the work is a pure function of the data), at most
:data:`MAX_ATTEMPTS` times, after which it fails with a message (a job that kills its process, e.g. by
running out of memory, must not kill every worker after it). :func:`clean` removes finished jobs and their
files ``KHAOSAT_JOB_RETENTION_HOURS`` after they finished: at each start, periodically while a worker
runs, and by ``khaosat clean-jobs``.

Hand-written here: only the glue (the table, claiming a row atomically, the holder check) and the
in-process thread, which exists so that ``make run`` needs no Redis; the queue itself is RQ's. Its
SimpleWorker runs jobs in the worker process (no fork per job), so one app and one database engine
serve every job of that worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import update
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, select

from analysis.lazy import LazyModule
from web import background, db
from web.models import Job, JobStatus, User
from web.models.base import utcnow
from web.shared_state import redis

# RQ and Redis (~0.1 s of CPU) are loaded only where jobs go to Redis: the thread queue (the default) needs neither
rq = LazyModule("rq")
log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
#: the folder a running task writes its temporary files in (``None``: the system's temporary folder)
WORK_DIR: ContextVar[str | None] = ContextVar("khaosat_job_work_dir", default=None)
#: why a job failed (code -> the sentence is in web/messages.py, shown in the owner's language)
PROBLEMS = ("jobs.failed", "jobs.lost", "jobs.owner_gone")


@dataclass(frozen=True)
class Output:
    """What a task made: a file (in :data:`WORK_DIR`), the name it downloads as, and its type."""

    path: str
    name: str
    mimetype: str


class Cancelled(Exception):
    """The owner cancelled the job; raised at the task's next chunk."""


class OwnerGone(Exception):
    """The job's owner may no longer make its file (deactivated, or no longer in the role it needs)."""


Task = Callable[[dict[str, Any], "Progress"], Output | None]  #: None: the work left no file (a weighting run)
TASKS: dict[str, Task] = {}


def task(kind: str) -> Callable[[Task], Task]:
    """Register ``function(params, progress) -> Output`` as the work of jobs of ``kind``."""
    def register(function: Task) -> Task:
        TASKS[kind] = function
        return function
    return register


class Progress:
    """A task's report of rows done; each report also reads the cancel flag (one short transaction)."""

    def __init__(self, engine, job_id: str) -> None:
        self.engine, self.job_id, self.done = engine, job_id, 0

    def start(self, total_rows: int) -> None:
        self._write(total_rows=total_rows, done_rows=0)

    def advance(self, rows: int) -> None:
        self.done += rows
        self._write(done_rows=self.done)

    def _write(self, **values: int) -> None:
        with Session(self.engine) as session:
            session.exec(update(Job).where(Job.id == self.job_id).values(**values))
            session.commit()
            if session.get(Job, self.job_id).cancel_requested:
                raise Cancelled


# -- the settings and the queue --------------------------------------------------------------------


def init_app(app: Flask) -> None:
    app.extensions["khaosat_jobs"] = ThreadQueue(app)
    app.before_request(_first_request)


def job_dir(app: Flask) -> str:
    return app.config.get("KHAOSAT_JOB_DIR") or os.path.join(app.instance_path, "jobs")


def _first_request() -> None:
    """Thread mode: take back this machine's jobs whose process ended, and remove expired ones (once)."""
    worker = current_app.extensions["khaosat_jobs"]
    if worker.recovered or current_app.config["KHAOSAT_JOB_QUEUE"] != "thread":
        return
    worker.recovered = True
    try:
        recover(current_app)
        clean(current_app)
    except (OperationalError, ProgrammingError):  # no jobs table yet: the database is not migrated
        db.session().rollback()


class ThreadQueue:
    """The in-process queue: one daemon thread runs the jobs this process submitted, in order, and
    removes expired jobs whenever it has waited ``KHAOSAT_JOB_CLEAN_SECONDS`` for work."""

    def __init__(self, app: Flask) -> None:
        self.app, self.ids, self.thread, self.recovered = app, queue.Queue(), None, False
        self.lock = threading.Lock()
        self.current: str | None = None  #: the job being run

    def put(self, job_id: str) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = background.start(self.app, self._loop, "khaosat-jobs")
        self.ids.put(job_id)

    def stop(self) -> None:
        """End the thread without starting the jobs still queued (their rows stay queued: :func:`recover` in
        a later process takes them back), and ask the one running to stop at its next chunk
        (:func:`web.background.finish`)."""
        with self.lock:
            while not self.ids.empty():
                self.ids.get_nowait()
            running = self.current
            if self.thread is not None and self.thread.is_alive():
                self.ids.put(None)
        if running is not None:
            with self.app.app_context(), Session(db.engine()) as session:
                session.exec(update(Job).where(Job.id == running, Job.status == JobStatus.running)
                             .values(cancel_requested=True))
                session.commit()

    def _loop(self) -> None:
        while True:
            try:
                job_id = self.ids.get(timeout=self.app.config["KHAOSAT_JOB_CLEAN_SECONDS"])
            except queue.Empty:
                clean(self.app)
                continue
            if job_id is None:
                return
            self.current = job_id
            try:
                execute(self.app, job_id)
            finally:
                self.current = None


def _enqueue(app: Flask, job_id: str) -> None:
    if app.config["KHAOSAT_JOB_QUEUE"] == "rq":
        rq_queue(app).enqueue(run_queued, job_id, job_id=f"khaosat-{job_id}",
                              job_timeout=app.config["KHAOSAT_JOB_TIMEOUT"], result_ttl=3600, failure_ttl=86400)
    else:
        app.extensions["khaosat_jobs"].put(job_id)


def rq_queue(app: Flask) -> rq.Queue:
    if not app.config.get("REDIS_URL"):
        raise RuntimeError("KHAOSAT_JOB_QUEUE=rq needs REDIS_URL")
    return rq.Queue(app.config["KHAOSAT_JOB_RQ_QUEUE"], connection=redis.Redis.from_url(app.config["REDIS_URL"]))


def work(app: Flask, burst: bool = False) -> None:
    """Run RQ jobs in this process until stopped (``burst``: until the queue is empty), removing expired
    jobs every ``KHAOSAT_JOB_CLEAN_SECONDS``. RQ's SimpleWorker runs each job in this process, inside the
    app context ``khaosat worker`` holds, with one database engine for all (no fork per job)."""
    if not burst:
        threading.Thread(target=_clean_every, args=(app,), name="khaosat-jobs-clean", daemon=True).start()
    queue_ = rq_queue(app)
    rq.SimpleWorker([queue_], connection=queue_.connection).work(burst=burst, logging_level="WARNING")


def _clean_every(app: Flask) -> None:
    """Every clean-up period: remove expired jobs, and queue again those whose entry Redis lost since this worker
    started. A failure (the database or Redis away for a moment) is logged and tried again next period."""
    while True:
        time.sleep(app.config["KHAOSAT_JOB_CLEAN_SECONDS"])
        try:
            clean(app)
            with app.app_context():
                _requeue_lost(app, db.session())
        except Exception:  # noqa: BLE001  (the loop must outlive a passing outage)
            log.exception("periodic clean-up of jobs failed; trying again in %s s", app.config["KHAOSAT_JOB_CLEAN_SECONDS"])


def run_queued(job_id: str) -> None:
    """What an RQ worker runs (``khaosat worker`` keeps the app's context around its work loop)."""
    execute(current_app._get_current_object(), job_id)


# -- the interface the pages use -------------------------------------------------------------------


def submit(kind: str, params: dict[str, Any], owner: User, title: str) -> Job:
    """Record a job of ``kind`` for ``owner`` and queue it; the page then follows its row."""
    if kind not in TASKS:
        raise ValueError(f"no task {kind!r}; known: {sorted(TASKS)}")
    app = current_app._get_current_object()
    thread_mode = app.config["KHAOSAT_JOB_QUEUE"] == "thread"
    job = Job(id=uuid.uuid4().hex, kind=kind, owner_id=owner.id, params=params, title=title[:200],
              holder=holder() if thread_mode else None)
    session = db.session()
    session.add(job)
    session.commit()
    _enqueue(app, job.id)
    return job


def latest(kind: str, **where: Any) -> Job | None:
    """The newest job of ``kind`` whose params have the given values, whoever owns it."""
    found = db.session().exec(select(Job).where(Job.kind == kind).order_by(Job.created_at.desc()).limit(50)).all()
    return next((j for j in found if all(j.params.get(k) == v for k, v in where.items())), None)


def cancel(job: Job) -> None:
    """Stop a queued or running job (its file is removed), or remove a finished one and its file."""
    session = db.session()
    if job.status == JobStatus.queued:
        _finish(session, job, JobStatus.cancelled)
    elif job.status == JobStatus.running:
        session.exec(update(Job).where(Job.id == job.id).values(cancel_requested=True))
        session.commit()
    else:
        _remove_file(job)
        session.delete(job)
        session.commit()


def visible(job_id: str, user: User) -> Job | None:
    """The job, if ``user`` may see it: its owner, or an admin."""
    job = db.session().get(Job, job_id)
    if job is None or (job.owner_id != user.id and user.role != "admin"):
        return None
    return job


def owned(user: User, kind: str = "export", **where: Any) -> list[Job]:
    """``user``'s jobs of ``kind`` (optionally only those whose params have the given values), newest first."""
    jobs = db.session().exec(select(Job).where(Job.owner_id == user.id, Job.kind == kind)
                             .order_by(Job.created_at.desc())).all()
    return [j for j in jobs if all(j.params.get(k) == v for k, v in where.items())]


def expires_at(job: Job) -> dt.datetime | None:
    if job.finished_at is None:
        return None
    return job.finished_at + dt.timedelta(hours=current_app.config["KHAOSAT_JOB_RETENTION_HOURS"])


# -- running a job ---------------------------------------------------------------------------------


def execute(app: Flask, job_id: str) -> None:
    """Claim the job and run its task as a request of its owner; record the file, or why there is none."""
    with app.app_context():
        job = _claim(job_id)
        if job is None:
            return
        work = os.path.join(job_dir(app), f"{job.id}.part")
        os.makedirs(work, exist_ok=True)
        token = WORK_DIR.set(work)
        outcome, file, problem = JobStatus.failed, {}, "jobs.failed"
        try:
            file = _store(app, job, _run_as_owner(app, job))
            outcome = JobStatus.done
        except Cancelled:
            outcome = JobStatus.cancelled
        except OwnerGone:
            problem = "jobs.owner_gone"
        except Exception:  # noqa: BLE001 - any failure of the task is the job's failure, shown to its owner
            app.logger.exception("job %s (%s) failed", job.id, job.kind)
        finally:
            WORK_DIR.reset(token)
            shutil.rmtree(work, ignore_errors=True)
        with Session(db.engine(), expire_on_commit=False) as session:
            job = session.get(Job, job_id)
            if job is None:  # its row was deleted meanwhile (the database emptied): its file has no owner
                with contextlib.suppress(FileNotFoundError, KeyError):
                    os.unlink(file["file_path"])
                return
            if outcome == JobStatus.done and job.cancel_requested:  # cancelled as the last chunk was written
                outcome = JobStatus.cancelled
                with contextlib.suppress(FileNotFoundError, KeyError):
                    os.unlink(file["file_path"])
            elif outcome == JobStatus.done:
                for name, value in file.items():
                    setattr(job, name, value)
            _finish(session, job, outcome, problem=problem if outcome == JobStatus.failed else None)


def _claim(job_id: str) -> Job | None:
    """Mark a queued job running in this process (None: cancelled, finished, or another process has it)."""
    with Session(db.engine(), expire_on_commit=False) as session:
        claimed = session.exec(update(Job).where(Job.id == job_id, Job.status == JobStatus.queued).values(
            status=JobStatus.running, holder=holder(), started_at=utcnow(), attempts=Job.attempts + 1,
            done_rows=0))
        session.commit()
        return session.get(Job, job_id) if claimed.rowcount == 1 else None


def _run_as_owner(app: Flask, job: Job) -> Output:
    owner = db.session().get(User, job.owner_id)
    if owner is None or not owner.is_active:
        raise OwnerGone
    with app.test_request_context(f"/?lang={job.params.get('lang', 'vi')}"):
        g.requesting_user = owner
        g.khaosat_in_place = True  # a job computes what it needs itself (web.research.weighting.in_place)
        return TASKS[job.kind](job.params, Progress(db.engine(), job.id))


def _store(app: Flask, job: Job, output: Output | None) -> dict[str, Any]:
    """Move the task's file into the jobs folder; the job's file fields (none when it made no file)."""
    if output is None:
        return {}
    target = os.path.join(job_dir(app), f"{job.id}{Path(output.name).suffix}")
    shutil.move(output.path, target)
    return {"file_path": target, "file_name": output.name[:200], "mimetype": output.mimetype,
            "file_size": os.path.getsize(target)}


def _finish(session: Session, job: Job, status: JobStatus, problem: str | None = None) -> None:
    job.status, job.problem, job.finished_at, job.holder = status.value, problem, utcnow(), None
    session.add(job)
    session.commit()


def _remove_file(job: Job) -> None:
    if job.file_path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(job.file_path)


# -- jobs that outlive their process, and retention ------------------------------------------------


def holder() -> str:
    """This process, as "host:pid:start" (the start time tells a new process from an old one's reused pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"


def _started(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot (Linux); "" where that cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _gone(held_by: str) -> bool:
    """True when ``held_by`` names a process of this machine that has ended."""
    host, pid, started = (held_by.split(":") + ["", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return bool(started) and _started(int(pid)) != started


def recover(app: Flask) -> int:
    """Queue again the jobs whose process on this machine has ended (or fail those tried too often), and on RQ
    those whose entry Redis no longer holds (:func:`_requeue_lost`)."""
    session = db.session()
    left = session.exec(select(Job).where(Job.status.in_([JobStatus.queued, JobStatus.running]),
                                          Job.holder.is_not(None))).all()
    again = 0
    for job in (j for j in left if _gone(j.holder)):
        _remove_work(app, job)
        if job.attempts >= MAX_ATTEMPTS:
            _finish(session, job, JobStatus.failed, problem="jobs.lost")
            continue
        job.status, job.done_rows = JobStatus.queued.value, 0
        job.holder = holder() if app.config["KHAOSAT_JOB_QUEUE"] == "thread" else None
        session.add(job)
        session.commit()
        _enqueue(app, job.id)
        again += 1
    return again + _requeue_lost(app, session)


#: a waiting job's row is written before its RQ entry: younger than this, a missing entry may be on its way
LOST_AFTER_SECONDS = 60
_WAITING_IN_RQ = {"queued", "started", "deferred", "scheduled"}


def _requeue_lost(app: Flask, session: Session) -> int:
    """RQ only: queue again the waiting jobs whose entry Redis no longer holds (Redis restarted without
    persistence, or its keys were flushed), which would otherwise wait for ever, and with them a survey's
    weights, since a waiting run stands for the next one. Queueing a job twice is harmless: a worker runs
    only a job it claims (:func:`_claim`), and the second finds it claimed."""
    if app.config["KHAOSAT_JOB_QUEUE"] != "rq":
        return 0
    waiting = session.exec(select(Job.id).where(
        Job.status == JobStatus.queued, Job.holder.is_(None),
        Job.created_at < utcnow() - dt.timedelta(seconds=LOST_AFTER_SECONDS))).all()
    connection = rq_queue(app).connection
    again = 0
    for job_id in waiting:
        try:
            status = rq.job.Job.fetch(f"khaosat-{job_id}", connection=connection).get_status(refresh=False)
        except rq.exceptions.NoSuchJobError:
            status = None
        if status is None or str(getattr(status, "value", status)) not in _WAITING_IN_RQ:
            _enqueue(app, job_id)
            again += 1
    return again


def _remove_work(app: Flask, job: Job) -> None:
    shutil.rmtree(os.path.join(job_dir(app), f"{job.id}.part"), ignore_errors=True)


def clean(app: Flask) -> int:
    """Remove the jobs (and files) that finished longer than the retention time ago; how many."""
    with app.app_context(), Session(db.engine()) as session:
        limit = utcnow() - dt.timedelta(hours=app.config["KHAOSAT_JOB_RETENTION_HOURS"])
        old = session.exec(select(Job).where(Job.finished_at.is_not(None), Job.finished_at < limit)).all()
        for job in old:
            _remove_file(job)
            session.delete(job)
        session.commit()
        return len(old)

