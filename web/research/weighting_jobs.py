"""Weighting runs of large surveys as background jobs (:mod:`web.jobs`), with progress.

A survey whose last complete design holds more than ``KHAOSAT_WEIGHTING_JOB_THRESHOLD`` responses is not
weighted again inside a request: when its design is out of date (new responses, an exclusion, new margins)
the request queues one weighting run (on RQ when configured, else the web process's own job thread) and
every page serves the last complete weights, labelled with the time they were made, until the run has saved
the new ones (:func:`web.research.weighting.refresh`: the snapshot every worker loads, and the weighting
cells the exports join). The weighting page shows the run's progress (responses read of all). Smaller
surveys are weighted in the request, as before.
"""

from __future__ import annotations

from flask import current_app, has_request_context
from sqlmodel import Session

from surveys import areas
from web import db, jobs
from web.auth import requesting_user
from web.i18n import language
from web.models import Job, JobStatus
from web.research import weighting
from web.tables import response_count

KIND = "weighting"


@jobs.task(KIND)
def weighting_task(params: dict, progress: jobs.Progress) -> None:
    """Read the responses (reporting each chunk), rake, trim, and save the design for every worker."""
    session = db.session()
    progress.start(response_count(session, params["slug"]))
    weighting.refresh(session, params["slug"], tuple(params["provinces"]), on_chunk=progress.advance)


def running(slug: str, provinces: areas.Provinces) -> Job | None:
    """The survey's weighting run waiting or under way, if any."""
    job = jobs.latest(KIND, slug=slug, provinces=list(areas.province_codes(provinces)))
    return job if job is not None and job.status in (JobStatus.queued, JobStatus.running) else None


def _in_background(session: Session, slug: str, provinces: areas.Provinces, latest: weighting.Weighted) -> bool:
    """Queue a weighting run of a large survey (once); False for a small one, which is weighted at once."""
    if len(latest.frame) <= current_app.config["KHAOSAT_WEIGHTING_JOB_THRESHOLD"] or not has_request_context():
        return False
    user = requesting_user()
    if user is None:
        return False
    if running(slug, provinces) is None:
        jobs.submit(KIND, {"slug": slug, "provinces": list(areas.province_codes(provinces)), "lang": language()},
                    user, f"weighting {slug}")
    return True


weighting.in_background = _in_background
