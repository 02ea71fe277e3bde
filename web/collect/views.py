"""Interview mode: the app shell, its service worker, the API token for the queue, progress, posters.

Authentication of the queue: when the shell opens online, it asks ``POST /collect/token`` (session
cookie plus the custom header ``X-KhaoSat-Collect``, which a cross-site form cannot send) for an API
token, stored hashed on the server (:func:`web.auth.new_token`) and kept in IndexedDB on the phone.
Submissions then carry ``Authorization: Bearer``, which browsers never attach by themselves, so the
submissions endpoint needs no CSRF exemption for cookies, and a queue filled over days offline
still sends after the session cookie has expired. One live token per session: asking again revokes
the previous one.
"""

from __future__ import annotations

import json

import segno
from flask import Response as FlaskResponse
from flask import abort, current_app, jsonify, render_template, request, url_for
from flask import session as cookie
from sqlmodel import select

from surveys import collation
from web import catalog, csrf, db
from web.auth import new_token, public, requesting_user, role_required
from web.catalog import current_version, instrument_of
from web.collect import APP_VERSION, bp
from web.collect.progress import today_by_ward
from web.i18n import _, language
from web.models import ApiToken, Role, Survey
from web.models.base import utcnow

HEADER = "X-KhaoSat-Collect"


def _surveys() -> list[dict]:
    session = db.session()
    out = []
    for survey in session.exec(select(Survey).order_by(Survey.slug)).all():
        version = current_version(session, survey.slug)
        if version is not None:
            instrument = instrument_of(version)
            out.append({"slug": survey.slug, "version": version.version,
                        "title": instrument.text(instrument.title, language())})
    return out


def _wards() -> list[tuple[int, str]]:
    """The wards a volunteer may pick: all wards of the province until assignments exist."""
    names = catalog.ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    return list(names.items())  # already in Vietnamese order


def _strings() -> dict[str, str]:
    """Interface text the shell's JavaScript shows, in the volunteer's language."""
    return {
        "waiting": _("%(num)s waiting to send", num="{n}"),
        "online": _("Online."), "offline": _("Offline: answers are kept on this phone."),
        "ready": _("Ready to work offline."), "sending": _("Sending…"),
        "page": _("Page %(n)s of %(total)s", n="{n}", total="{total}"),
        "next": _("Next"), "back": _("Back"), "finish": _("Finish the interview"),
        "resume": _("Continue"), "started": _("started %(when)s", when="{when}"),
        "conflict": _("Conflict: this interview was already sent with different content. Kept here; tell your supervisor."),
        "invalid": _("The server did not accept this interview:"), "fix": _("Open to correct"),
        "required": _("Please answer this question."), "number": _("Please enter a number."),
        "integer": _("Please enter a whole number."), "min": _("The value must be at least %(limit)s.", limit="{x}"),
        "max": _("The value must be at most %(limit)s.", limit="{x}"), "constraint": _("This answer is not valid."),
        "check": _("Please check the answers marked below."), "agree": _("I agree"),
        "choose": _("Choose…"), "row": _("Row %(n)s", n="{n}"), "add_row": _("Add a row"),
        "login": _("Please log in again to send the waiting interviews."), "nodraft": _("None."),
        "saved": _("Back to the list (answers are saved)"), "pick_ward": _("Please pick the ward first."),
        "gps_wait": _("Finding the location…"), "gps_ok": _("Location recorded (within %(metres)s m).", metres="{m}"),
        "gps_fail": _("The location could not be found; the interview goes on without it."),
    }


@bp.route("/")
@role_required(Role.volunteer, Role.supervisor)
def shell():
    user = requesting_user()
    wards = _wards()
    boot = {"surveys": _surveys(), "wards": wards, "user": user.username, "version": APP_VERSION,
            "lang": language(), "t": _strings(), "token_url": url_for("collect.token")}
    names = dict(wards)
    progress = collation.sorted_by(((names.get(w, _("No ward")), n) for w, n in today_by_ward(db.session(), user.id).items()),
                                   lambda row: row[0])
    return render_template("collect/app.html", boot=json.dumps(boot, ensure_ascii=False), wards=wards,
                           surveys=boot["surveys"], progress=progress)


@bp.route("/progress")
@role_required(Role.volunteer, Role.supervisor, api=True)
def progress():
    names = dict(_wards())
    counts = today_by_ward(db.session(), requesting_user().id)
    return jsonify(today=[{"ward": w, "name": names.get(w, ""), "count": n} for w, n in counts.items()])


@bp.route("/token", methods=["POST"])
@csrf.exempt
@role_required(Role.volunteer, Role.supervisor, api=True)
def token():
    if request.headers.get(HEADER) != "1":
        return jsonify(error=_("The request could not be understood.")), 400
    session = db.session()
    previous = cookie.get("collect_token")
    if previous:
        old = session.get(ApiToken, previous)
        if old is not None and old.user_id == requesting_user().id and old.revoked_at is None:
            old.revoked_at = utcnow()
            session.add(old)
            session.commit()
    value = new_token(requesting_user())
    from web.auth import hash_token

    issued = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(value))).one()
    cookie["collect_token"] = issued.id
    return jsonify(token=value)


@bp.route("/sw.js")
@public
def service_worker():
    """The service worker, served from /collect/ so that its scope is /collect/."""
    text = (bp.root_path + "/sw.js")
    with open(text, encoding="utf-8") as handle:
        body = handle.read().replace("__VERSION__", APP_VERSION)
    response = FlaskResponse(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/poster/<slug>")
@role_required(Role.supervisor)
def poster(slug: str):
    """A printable poster: the survey's title and a QR code to start it, for one ward."""
    version = current_version(db.session(), slug)
    if version is None:
        abort(404)
    instrument = instrument_of(version)
    wards = _wards()
    ward = request.args.get("ward", type=int)
    names = dict(wards)
    if ward is not None and ward not in names:
        ward = None
    link = url_for("respond.start", slug=slug, ward=ward, _external=True)
    svg = segno.make(link, error="m").svg_inline(scale=8, border=2, title=_("QR code to start the survey"))
    return render_template("collect/poster.html", instrument=instrument, slug=slug, wards=wards, ward=ward,
                           ward_name=names.get(ward), link=link, svg=svg)
