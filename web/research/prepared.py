"""Downloads prepared in the background (:mod:`web.jobs`): start one, follow its progress, fetch or cancel it,
and each researcher's list of them ("Your downloads").

A prepared download is the same file as the direct one (:func:`web.research.downloads.release`, the same
disclosure protection, the same audit record when it is fetched); only the owner and admins see it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField

from web import db, jobs, synthetic
from web.auth import requesting_user, role_required
from web.i18n import _, format_decimal, format_moment, language
from web.models import Job, JobStatus, Role
from web.research import bp, downloads, query, releases
from web.research.views import export_attachment
from web.tables import response_count

TIERS = {"scientific": releases.SCIENTIFIC, "public": releases.PUBLIC, "full": releases.FULL}
CHUNK = 64 * 1024


class PrepareForm(FlaskForm):
    fmt = HiddenField()
    tier = HiddenField()


class CancelForm(FlaskForm):
    """A bare form: its CSRF token is what it carries."""


@jobs.task("export")
def export_task(params: dict, progress: jobs.Progress) -> jobs.Output:
    """The microdata file, written as the direct download writes it, reporting each chunk of rows."""
    if params["tier"] == releases.FULL and requesting_user().role != Role.admin.value:
        raise jobs.OwnerGone("the full microdata are for admins")
    made = downloads.release(params["slug"], params["fmt"], params["tier"],
                             chunk_rows=current_app.config["KHAOSAT_JOB_CHUNK_ROWS"], on_chunk=progress.advance)
    progress.start(made.total_rows)
    path, mimetype, name = downloads.release_file(made)
    return jobs.Output(path, name, mimetype)


@bp.route("/<slug>/downloads", endpoint="downloads")
@role_required(Role.researcher)
def downloads_page(slug: str):
    """The survey's files: direct links, or (over ``KHAOSAT_JOB_THRESHOLD`` responses) buttons that prepare
    them in the background; and the files this user had prepared."""
    instrument = query.load_instrument(slug)
    responses = response_count(db.session(), slug)
    rows = [job_row(job) for job in jobs.owned(requesting_user(), slug=slug)]
    return render_template("research/downloads.html", instrument=instrument, formats=list(downloads.FORMATS),
                           rows=rows, responses=responses,
                           large=responses > current_app.config["KHAOSAT_JOB_THRESHOLD"])


@bp.route("/<slug>/prepare", methods=["POST"])
@role_required(Role.researcher)
def start_export(slug: str):
    """Prepare a microdata file in the background; the page that follows shows its progress."""
    instrument = query.load_instrument(slug)
    form = PrepareForm()
    tier = TIERS.get(form.tier.data or "")
    user = requesting_user()
    if not form.validate_on_submit() or tier is None or form.fmt.data not in downloads.FORMATS:
        flash(_("That download does not exist. Choose one of the files below."))
        return redirect(url_for("research.downloads", slug=slug), 303)
    if tier == releases.FULL and user.role != Role.admin.value:
        abort(403)
    lang = language()
    prefix = synthetic.FILE_PREFIX if synthetic.is_demo() else ""
    name = f"{prefix}{slug}-{downloads.FILE_NAMES[tier]}-{lang}.{form.fmt.data}"
    job = jobs.submit("export", {"slug": slug, "fmt": form.fmt.data, "tier": tier, "lang": lang}, user, name)
    current_app.logger.info("job %s: %s for user %s (%s)", job.id, name, user.id, instrument.slug)
    return redirect(url_for("research.job_page", job_id=job.id), 303)


def _job_or_404(job_id: str) -> Job:
    job = jobs.visible(job_id, requesting_user())
    if job is None:
        abort(404)
    return job


@bp.route("/my-downloads/<job_id>")
@role_required(Role.researcher)
def job_page(job_id: str):
    """One prepared download: a progress bar (the page reloads itself without JavaScript), then its link."""
    job = _job_or_404(job_id)
    return render_template("research/job.html", job=job, row=job_row(job))


@bp.route("/my-downloads/<job_id>.json")
@role_required(Role.researcher)
def job_status(job_id: str):
    """The progress of one prepared download, for the page's script."""
    row = job_row(_job_or_404(job_id))
    return jsonify({k: row[k] for k in ("id", "status", "percent", "done_rows", "total_rows", "state",
                                        "file_url", "finished")})


@bp.route("/my-downloads/<job_id>/file")
@role_required(Role.researcher)
def job_file(job_id: str):
    """The prepared file (kept until it expires; fetching it is recorded as the direct download is)."""
    job = _job_or_404(job_id)
    if job.status != JobStatus.done or not job.file_path or not os.path.exists(job.file_path):
        abort(404)
    return export_attachment(_read(job.file_path), job.mimetype, job.file_name, **{
        "format": job.params.get("fmt", ""), "tier": job.params.get("tier", ""), "job": job.id})


def _read(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            yield block


@bp.route("/my-downloads/<job_id>/cancel", methods=["POST"])
@role_required(Role.researcher)
def cancel_job(job_id: str):
    """Cancel a download being prepared, or remove a prepared one; its file is deleted."""
    job = _job_or_404(job_id)
    if not CancelForm().validate_on_submit():
        abort(400)
    finished = job.finished
    jobs.cancel(job)
    flash(_("The download was removed.") if finished else _("The download was cancelled; its file is deleted."))
    return redirect(url_for("research.my_downloads"), 303)


@bp.route("/my-downloads")
@role_required(Role.researcher)
def my_downloads():
    """Every download this user had prepared, newest first, until each expires."""
    rows = [job_row(job) for job in jobs.owned(requesting_user())]
    return render_template("research/my_downloads.html", rows=rows)


def job_row(job: Job) -> dict:
    """What the pages and the JSON show of a job, in the user's language and time zone."""
    done = job.status == JobStatus.done
    return {
        "id": job.id, "title": job.file_name or job.title, "status": job.status, "percent": job.percent,
        "done_rows": job.done_rows, "total_rows": job.total_rows, "finished": job.finished,
        "format": (job.params.get("fmt") or "").upper(), "slug": job.params.get("slug"),
        "state": _state(job), "size": _size(job.file_size) if done else "",
        "created": format_moment(job.created_at), "expires": format_moment(jobs.expires_at(job)) if done else "",
        "file_url": url_for("research.job_file", job_id=job.id) if done else None,
        "page_url": url_for("research.job_page", job_id=job.id),
        "cancel_url": url_for("research.cancel_job", job_id=job.id),
    }


def _state(job: Job) -> str:
    if job.status == JobStatus.queued:
        return _("Waiting to start")
    if job.status == JobStatus.running:
        return _("Preparing")
    if job.status == JobStatus.done:
        return _("Ready")
    if job.status == JobStatus.cancelled:
        return _("Cancelled")
    if job.problem == "jobs.lost":
        return _("Failed: the worker preparing it stopped %(n)d times. Try again, or ask an administrator to "
                 "look at the server's memory.", n=job.attempts)
    if job.problem == "jobs.owner_gone":
        return _("Failed: your account can no longer make this file.")
    return _("Failed: the file could not be made. Try again; if it fails again, tell an administrator.")


def _size(size: int | None) -> str:
    """A file size in kB or MB (SI symbols, the same in every language), in the user's number format."""
    if not size:
        return "–"
    if size < 1_000_000:
        return f"{format_decimal(max(size / 1000, 0.1), '#,##0.0')} kB"
    return f"{format_decimal(size / 1_000_000, '#,##0.0')} MB"
