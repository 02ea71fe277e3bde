"""Weighting runs of large surveys as background jobs (:mod:`web.jobs`), with progress.

A survey whose last complete design holds more than ``KHAOSAT_WEIGHTING_JOB_THRESHOLD`` responses is not
weighted again inside a request: when its design is out of date (new responses, an exclusion, new margins)
the request queues one weighting run (on RQ when configured, else the web process's own job thread) and
every page serves the last complete weights, labelled with the time they were made, until the run has saved
the new ones (:func:`web.research.weighting.refresh`: the snapshot every worker loads, and the weighting
cells the exports join). The weighting page shows the run's progress (responses read of all). Smaller
surveys are weighted in the request, as before.

A large survey's first weights (none made, none saved) are a weighting run too: until it ends, the results,
left-behind, weighting and chart pages answer with a "being prepared" page (200, the run's progress, reloading
itself every ``RETRY_SECONDS``) and the API with 202 and ``Retry-After`` (see :func:`being_prepared`).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context, jsonify, render_template, request
from sqlmodel import Session

from surveys import areas
from web import db, errors, jobs
from web.auth import requesting_user
from web.catalog import instrument_of, reported_version
from web.i18n import _, format_decimal, language, lazy_gettext
from web.messages import in_every_language
from web.models import Job, JobStatus
from web.research import bp, downloads, in_database, weight_cells, weighting
from web.tables import response_count

KIND = "weighting"
RETRY_SECONDS = 5  #: a "being prepared" answer asks to be asked again after this long
PREPARING = lazy_gettext("The figures are being prepared: a large survey's weights are made once, in the background, "
                         "before its first results can be shown.")
#: what the answer says while the saved weights are read, or a table of them computed (:class:`weighting.Preparing`)
WAITING = {"loading": lazy_gettext("The figures are being loaded: this server has just started and reads the survey's "
                                   "last complete weights before it shows them."),
           "computing": lazy_gettext("The figures are being computed: a large survey's table or ranking takes a few "
                                     "seconds the first time it is asked for."),
           "disclosure": lazy_gettext("The disclosure risk is being measured: a large survey's records are read and "
                                      "protected once, in the background, before the risk of its data files can be "
                                      "shown.")}
RETRY = {"loading": RETRY_SECONDS, "computing": 2}  #: seconds before asking again, by what is waited for


@jobs.task(KIND)
def weighting_task(params: dict, progress: jobs.Progress) -> None:
    """Read the responses (reporting each chunk), rake, trim, and save the design for every worker; a survey
    whose cells are made in the database (:func:`web.research.weighting.too_large`) gets only those."""
    session = db.session()
    slug, provinces = params["slug"], tuple(params["provinces"])
    total = response_count(session, slug)
    progress.start(total)
    large = weighting.too_large(total)
    if large:
        as_of, stamp = dt.datetime.now(dt.UTC), weighting.data_stamp_of(session, slug, provinces)
        cells = weight_cells.refresh(session, slug, provinces, as_of, stamp)
        progress.advance(total)
    else:
        weighting.refresh(session, slug, provinces, on_chunk=progress.advance)
    # then the full CSV's rows of the responses that arrived or changed since, so that a download only joins them
    downloads.keep_rows(slug)
    if large:  # and the sums its pages read, by the database, from those rows' cell keys
        in_database.refresh(session, slug, provinces, cells, stamp, as_of,
                            instrument_of(reported_version(session, slug)))


def running(slug: str, provinces: areas.Provinces) -> Job | None:
    """The survey's weighting run waiting or under way, if any."""
    job = jobs.latest(KIND, slug=slug, provinces=list(areas.province_codes(provinces)))
    return job if job is not None and job.status in (JobStatus.queued, JobStatus.running) else None


def run_in_database(session: Session, slug: str, provinces: areas.Provinces) -> Job | None:
    """The weighting run that makes a survey's figures in the database (:mod:`web.research.in_database`): the one
    queued or under way, else one queued now for the data as they are; None outside a signed-in request."""
    run = running(slug, provinces)
    if run is not None:
        return run
    user = requesting_user() if has_request_context() else None
    if user is None:
        return None
    return _submit(slug, provinces, user, weighting.data_stamp_of(session, slug, provinces))


def _in_background(session: Session, slug: str, provinces: areas.Provinces, latest: weighting.Weighted,
                   stamp: weighting.Stamp) -> bool:
    """Queue a weighting run of a large survey for the data as they are now (``stamp``), unless one will make
    them; False for a small survey, which is weighted at once."""
    if len(latest.frame) <= current_app.config["KHAOSAT_WEIGHTING_JOB_THRESHOLD"] or not has_request_context():
        return False
    user = requesting_user()
    if user is None:
        return False
    if not _will_be_made(slug, provinces, stamp):
        weighting.refuse_too_large(session, slug, provinces)
        _submit(slug, provinces, user, stamp)
    return True


def _will_be_made(slug: str, provinces: areas.Provinces, stamp: weighting.Stamp) -> bool:
    """Whether a run waiting or under way makes weights from these data: a queued run reads the responses when
    it starts; a run under way read them when it started, so it does only when it was queued for these data (an
    exclusion made while a run finishes needs a run after it, rather than waiting for a page to ask again)."""
    run = running(slug, provinces)
    return run is not None and (run.status == JobStatus.queued or run.params.get("stamp") == _stamp_json(stamp))


def _stamp_json(stamp: weighting.Stamp) -> list:
    return [stamp.data_version, stamp.newest, list(stamp.margins)]


def _submit(slug: str, provinces: areas.Provinces, user, stamp: weighting.Stamp) -> Job:
    return jobs.submit(KIND, {"slug": slug, "provinces": list(areas.province_codes(provinces)), "lang": language(),
                              "stamp": _stamp_json(stamp)}, user, f"weighting {slug}")


def _first_in_background(session: Session, slug: str, provinces: areas.Provinces) -> Job | None:
    """The run making a large survey's first weights (queued now unless one is); None for a small survey (or
    outside a signed-in request), which is weighted at once, and when the last run failed: the request makes
    them, so that what stops them is shown (ward codes of two code lists) rather than a page preparing forever."""
    if not has_request_context():
        return None
    user = requesting_user()
    if user is None:
        return None
    weighting.refuse_too_large(session, slug, provinces, count=False)  # known too large: its figures are the database's
    last = jobs.latest(KIND, slug=slug, provinces=list(areas.province_codes(provinces)))
    if last is not None and last.status in (JobStatus.queued, JobStatus.running):
        return last  # asked again while it runs: the responses are not counted again (0.3 s at 1,000,000)
    responses = response_count(session, slug)
    weighting.refuse_too_large(session, slug, provinces, responses)  # never weighed in a request, even after a failure
    if responses <= current_app.config["KHAOSAT_WEIGHTING_JOB_THRESHOLD"]:
        return None
    if last is not None and last.status == JobStatus.failed:
        return None
    return _submit(slug, provinces, user, weighting.data_stamp_of(session, slug, provinces))


@bp.app_errorhandler(weighting.BeingPrepared)
def being_prepared(error: weighting.BeingPrepared):
    """The figures are being prepared: for the API 202 with ``Retry-After`` and ``{"status": "preparing",
    "done_rows", "total_rows", "percent" (null when not known), "retry_after", "message"}``; for a page 200 and a page that reloads
    itself (a meta refresh, no script) and says how many responses are read; a chart 202 and that page when it is
    downloaded, an image saying that it is being drawn when a page shows it."""
    run: Job | weighting.Preparing = error.run
    what = run.what if isinstance(run, weighting.Preparing) else run.kind  # a job: its kind
    message, seconds = WAITING.get(what, PREPARING), RETRY.get(what, RETRY_SECONDS)
    if errors.wants_json():
        reply = jsonify(status="preparing", done_rows=run.done_rows or 0, total_rows=run.total_rows or 0,
                        percent=run.percent, retry_after=seconds, message=in_every_language(message))
        status = 202
    elif request.path.endswith((".png", ".svg")) and not request.args.get("download"):
        # an image in a page: an image saying so (a script in the page asks again after Retry-After)
        reply = current_app.response_class(render_template("research/chart_preparing.svg", what=what),
                                           mimetype="image/svg+xml")
        status = 202
    else:
        reply = current_app.make_response(render_template("research/preparing.html", run=run, message=message,
                                                          seconds=seconds))
        status = 202 if request.path.endswith((".png", ".svg")) else 200
    reply.status_code = status
    reply.headers["Retry-After"] = str(seconds)
    reply.headers["Cache-Control"] = "no-store"
    return reply


@bp.app_errorhandler(weighting.TooLarge)
def too_large(error: weighting.TooLarge):
    """A survey too large for its design in memory: 409 and why, for a page, a chart and the API alike."""
    message = _("This survey has more than %(limit)s responses, more than this server weighs in memory (about 4 GiB of "
                "memory for every million responses), so this is not offered for it. Its results, who-is-left-behind, "
                "small-area, weighting, rounds and disclosure-risk pages show its indicators by area and group, "
                "computed by the database, and its data files can be downloaded; the two streams side by side are "
                "not offered at this size. An administrator can raise this limit in the server's settings on a "
                "server with more memory.", limit=format_decimal(error.limit))
    if errors.wants_json():
        return errors.refuse(409, message)
    title = _("Too many responses for results pages on this server")
    return render_template("error.html", code=409, title=title, message=message), 409


weighting.in_background = _in_background
weighting.first_in_background = _first_in_background
