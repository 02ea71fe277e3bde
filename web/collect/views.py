"""Interview mode: the app shell, its service worker, the API token for the queue, progress, posters.

Authentication of the queue: when the shell opens online, it asks ``POST /collect/token`` (session
cookie plus the custom header ``X-KhaoSat-Collect``, which a cross-site form cannot send) for an API
token, stored hashed on the server (:func:`web.auth.new_token`) and kept in IndexedDB on the phone.
Submissions then carry ``Authorization: Bearer``, which browsers never attach by themselves, so the
submissions endpoint needs no CSRF exemption for cookies, and a queue filled over days offline
still sends after the session cookie has expired. One live token per login: asking again revokes
the previous one, and the token ends with the login that issued it (logout, expiry after
``KHAOSAT_SESSION_DAYS``, a password reset, role change or deactivation; see :mod:`web.sessions`).

Interview files: the shell carries the server's public key and a signed statement of the
volunteer's identity, so the phone can seal its queue into a file only the server opens
(:mod:`web.collect.sealed`); a supervisor imports such a file here, and each interview in it goes
through the API's own view as the volunteer who collected it.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter

import segno
from flask import Response as FlaskResponse
from flask import abort, current_app, g, jsonify, make_response, render_template, request, url_for
from flask import session as cookie
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlmodel import select

from surveys import areas, collation
from web import area_lists, audit, catalog, db, sampling, sessions
from web.api.views import create_submission, post_visit
from web.auth import csrf, hash_token, new_token, public, requesting_user, role_required
from web.catalog import current_version, instrument_of
from web.collect import APP_VERSION, bp, sealed
from web.collect import households as household_screens
from web.collect.progress import today_by_ward
from web.i18n import _, language, language_names, languages, lazy_gettext
from web.models import ApiToken, Role, Survey, User
from web.models.base import utcnow

HEADER = "X-KhaoSat-Collect"

#: the browser locale whose date order each language uses (Intl.DateTimeFormat); others use their own code
DATE_LOCALES = {"vi": "vi-VN", "en": "en-GB"}


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


def _covered() -> tuple[int, ...]:
    """The provinces of the surveys open for interviews (the installation's province when there are none)."""
    codes = {p for s in _surveys() for p in catalog.survey_provinces(db.session(), s["slug"])}
    return tuple(sorted(codes)) or (int(current_app.config["KHAOSAT_PROVINCE"]),)


def _wards() -> list[tuple[int, str]]:
    """The wards a volunteer may pick: all wards of the provinces the open surveys cover."""
    names = catalog.ward_names(db.session(), _covered())
    return list(names.items())  # already in Vietnamese order


@bp.route("/areas.json")
@role_required(Role.volunteer, Role.supervisor, api=True)
def area_list():
    """The provinces the open surveys cover, each with its wards and communes, in Vietnamese order: the
    shell picks province then commune from it, and the service worker keeps it for offline use."""
    return area_lists.compact_json({"provinces": [
        [p.code, p.name, [[w.code, w.name] for w in area_lists.sorted_wards(p.code)]]
        for p in area_lists.sorted_provinces(_covered())]})


def _strings() -> dict[str, str]:
    """Interface text the shell's JavaScript shows, in the volunteer's language (``{n}`` and the like are
    filled in by the script)."""
    return {**_interview_strings(), **_sending_strings(), **_keeping_strings(),
            "dt_locale": DATE_LOCALES.get(language(), language())}


def _interview_strings() -> dict[str, str]:
    """The interview itself: its pages, its checks, the location."""
    return {
        "page": _("Page %(n)s of %(total)s", n="{n}", total="{total}"),
        "next": _("Next"), "back": _("Back"), "finish": _("Finish the interview"),
        "resume": _("Continue"), "started": _("started %(when)s", when="{when}"),
        "fix": _("Open to correct"),
        "required": _("Please answer this question."), "number": _("Please enter a number."),
        "integer": _("Please enter a whole number."), "min": _("The value must be at least %(limit)s.", limit="{x}"),
        "max": _("The value must be at most %(limit)s.", limit="{x}"), "constraint": _("This answer is not valid."),
        "check": _("Please check the answers marked below."), "agree": _("I agree"), "use_location": _("Use my location"),
        "location_consent": _("I agree that this location is kept, apart from my answers"),
        "choose": _("Choose…"), "row": _("Row %(n)s", n="{n}"), "add_row": _("Add a row"),
        "login": _("Please log in again to send the waiting interviews."), "nodraft": _("None."),
        "saved": _("Back to the list (answers are saved)"), "pick_ward": _("Please pick the ward first."),
        "gps_wait": _("Finding the location…"), "gps_ok": _("Location recorded (within %(metres)s m).", metres="{m}"),
        "gps_fail": _("The location could not be found; the interview goes on without it."),
    }


def _sending_strings() -> dict[str, str]:
    """The queue of interviews on the phone and what the server answered them."""
    return {
        "waiting": _("%(num)s waiting to send", num="{n}"),
        "online": _("Online."), "offline": _("Offline: answers are kept on this phone."),
        "ready": _("Ready to work offline."), "sending": _("Sending…"),
        "title_waiting": _("(%(num)s unsent)", num="{n}"),
        "leave_warning": _("Interviews on this phone are not sent yet."),
        "r_offline": _("No network; will try again."),
        "r_refused": _("The server could not be reached; will try again at %(time)s.", time="{t}"),
        "r_server": _("Server error %(code)s; will try again at %(time)s.", code="{code}", time="{t}"),
        "r_busy": _("The server is busy (%(code)s); will try again at %(time)s.", code="{code}", time="{t}"),
        "r_portal": _("The network answered with a web page, not the server: open the browser to sign in to the "
                      "Wi-Fi. Will try again at %(time)s.", time="{t}"),
        "r_login": _("Please log in again; the interview waits on this phone."),
        "r_conflict": _("Already sent with different content."),
        "r_invalid": _("The server did not accept this interview:"),
        "last_try": _("Last try: %(time)s", time="{t}"),
        "keep_both": _("Keep both"), "discard": _("Discard this copy"),
        "discard_confirm": _("Discard this copy of the interview from the phone? The one already on the server stays."),
        "kept_both": _("Will be sent as a new interview, linked to the first, for your supervisor to review."),
        "status_queued": _("waiting"), "status_conflict": _("conflict"), "status_invalid": _("needs a correction"),
        "status_login": _("waiting for login"),
    }


def _keeping_strings() -> dict[str, str]:
    """Keeping interviews on the phone: storage, sealed files, logging out with interviews unsent."""
    return {
        "persist_yes": _("This phone keeps the interviews even when storage runs low."),
        "persist_no": _("The browser may delete data here when storage runs low: save your interviews to a file "
                        "regularly, or install the app to the home screen."),
        "no_crypto": _("This browser cannot seal the file; connect to the network and send instead."),
        "saved_file": _("Saved to the file %(name)s (interviews: %(num)s). Only the server can open it.",
                        num="{n}", name="{name}"),
        "not_offline": _("This survey was not downloaded to this phone yet: connect to the network once and open "
                         "this page, then it works offline."),
        "logout_q": _("Not sent yet from this phone: %(num)s.", num="{n}"),
        "sealed": _("Kept on this phone while you were logged out, sealed; it opens again when the server can be "
                    "reached."),
        "signed_out": _("You are logged out. Log in (with a network) to continue; interviews kept on this phone "
                        "wait for their volunteer."),
    }


@bp.route("/")
@role_required(Role.volunteer, Role.supervisor)
def shell():
    user = requesting_user()
    wards, several = _wards(), len(_covered()) > 1
    boot = {"surveys": _surveys(), "wards": [] if several else wards, "areas_url": url_for("collect.area_list"),
            "user": user.username, "user_id": user.id, "version": APP_VERSION,
            "lang": language(), "t": _strings(), "token_url": url_for("collect.token"),
            "language_names": language_names(languages()),
            "identity": sealed.identity_for(user.id, user.username), "export_key": sealed.public_key(),
            "login": getattr(sessions.current(), "id", 0), "surveys_url": url_for("collect.survey_list"),
            "unseal_url": url_for("collect.unseal"), "h": household_screens.strings(),
            "outcomes": household_screens.outcome_labels(), "households_url": url_for("collect.households")}
    names = dict(wards)
    progress = collation.sorted_by(((names.get(w, _("No ward")), n) for w, n in today_by_ward(db.session(), user.id).items()),
                                   lambda row: row[0])
    households = sampling.assignments_of(db.session(), user.id)
    page = make_response(render_template("collect/app.html", boot=json.dumps(boot, ensure_ascii=False),
                                         wards=[] if several else wards,
                                         provinces=area_lists.sorted_provinces(_covered()) if several else (),
                                         surveys=boot["surveys"], progress=progress, households=households,
                                         ward_names=names, outcomes=household_screens.OUTCOMES,
                                         outcome_labels=boot["outcomes"], min_age=household_screens.MIN_AGE))
    page.headers["X-KhaoSat-Shell"] = APP_VERSION  # the service worker keeps only a page that says this
    return page


@bp.route("/surveys")
@role_required(Role.volunteer, Role.supervisor, api=True)
def survey_list():
    """The surveys and their current versions, for the app to refresh on reconnect."""
    return jsonify(surveys=_surveys())


@bp.route("/progress")
@role_required(Role.volunteer, Role.supervisor, api=True)
def progress():
    names = dict(_wards())
    counts = today_by_ward(db.session(), requesting_user().id)
    return jsonify(today=[{"ward": w, "name": names.get(w, ""), "count": n} for w, n in counts.items()])


@bp.route("/households")
@role_required(Role.volunteer, Role.supervisor, api=True)
def households():
    """The volunteer's sampled households (address, visits made, last outcome, callback), for the app."""
    rows = sampling.assignments_of(db.session(), requesting_user().id)
    return jsonify(households=[{k: v for k, v in row.items() if k != "callback"} for row in rows])


@bp.route("/token", methods=["POST"])
@csrf.exempt
@role_required(Role.volunteer, Role.supervisor, api=True)
def token():
    if request.headers.get(HEADER) != "1":
        return jsonify(error=_("The request could not be understood.")), 400
    login = sessions.current()
    if login is None:  # a token is issued to a login, never to another token
        return jsonify(error=_("Authentication required.")), 401
    session = db.session()
    previous = cookie.get("collect_token")
    if previous:
        old = session.get(ApiToken, previous)
        if old is not None and old.user_id == requesting_user().id and old.revoked_at is None:
            old.revoked_at = utcnow()
            session.add(old)
            session.commit()
    value = new_token(requesting_user(), login)
    issued = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(value))).one()
    cookie["collect_token"] = issued.id
    return jsonify(token=value)


@bp.route("/unseal", methods=["POST"])
@csrf.exempt
@role_required(Role.volunteer, Role.supervisor, api=True)
def unseal():
    """Open again, for the same volunteer only, what the app sealed on the phone when they logged out.

    The body is a JSON text ``{"items": [sealed, ...]}`` (sent as text/plain: pages do not take
    JSON); the answer lists each item opened, or null where it is not this volunteer's or cannot be
    opened, in the same order."""
    if request.headers.get(HEADER) != "1":
        return jsonify(error=_("The request could not be understood.")), 400
    if sessions.current() is None:
        return jsonify(error=_("Authentication required.")), 401
    try:
        envelopes = json.loads(request.get_data())["items"]
    except (ValueError, TypeError, KeyError, RecursionError):
        envelopes = None
    if not isinstance(envelopes, list) or len(envelopes) > 200:
        return jsonify(error=_("The request could not be understood.")), 400
    user = requesting_user()
    return jsonify(items=[_open_own(envelope, user.id) for envelope in envelopes])


def _open_own(envelope: object, user_id: int) -> dict | None:
    """One item the phone sealed, if it is ``user_id``'s and opens."""
    if not isinstance(envelope, str):
        return None
    try:
        opened = sealed.open_file(envelope.encode())
    except sealed.SealedFileError:
        return None
    return opened.items[0] if opened.user_id == user_id and len(opened.items) == 1 else None


@bp.route("/signed-out")
@public
def signed_out():
    """Where a volunteer lands after logging out; its script locks the app kept on the phone for them."""
    return render_template("collect/signed_out.html", user=request.args.get("user", type=int))


@bp.route("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest, so the interview app can be installed to the home screen."""
    body = {"name": _("KhaoSat interviews"), "short_name": "KhaoSat", "lang": language(),
            "start_url": url_for("collect.shell"), "scope": url_for("collect.shell"), "display": "standalone",
            "background_color": "#ffffff", "theme_color": "#0b5394",
            "icons": [{"src": url_for("static", filename="icon.svg"), "sizes": "any", "type": "image/svg+xml"},
                      {"src": url_for("static", filename="icon-192.png"), "sizes": "192x192", "type": "image/png"},
                      {"src": url_for("static", filename="icon-512.png"), "sizes": "512x512", "type": "image/png"}]}
    return FlaskResponse(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


class ImportForm(FlaskForm):
    file = FileField(lazy_gettext("Interview file (.khaosat)"))


#: what an import did with each interview in a file, by the API's answer
OUTCOMES = {201: "stored", 200: "already", 409: "conflict"}


def _submit_as(volunteer: User, body: dict, visit: bool = False) -> int:
    """One interview (or a visit) through the API's own view, as ``volunteer``; returns the HTTP status.

    The view runs undecorated (this supervisor's request has passed its own role check; the rate
    limit is for phones), so an imported interview meets exactly the checks of one sent by the app.
    """
    outer = g.pop("requesting_user", None)
    try:
        view = post_visit if visit else create_submission
        with current_app.test_request_context("/api/v1/visits" if visit else "/api/v1/submissions", method="POST",
                                              json=body):
            g.requesting_user = volunteer
            result = current_app.make_response(inspect.unwrap(view)())
    finally:
        g.requesting_user = outer
    return result.status_code


@bp.route("/import", methods=["GET", "POST"])
@role_required(Role.supervisor)
def import_file():
    """A supervisor brings in the interviews a volunteer saved to a file (stored once each, by uuid)."""
    form = ImportForm()
    counts, problem, owner = None, None, None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            opened = sealed.open_file(upload.read() if upload else b"")
            owner = db.session().get(User, opened.user_id)
            if owner is None or owner.role not in (Role.volunteer.value, Role.supervisor.value):
                raise sealed.SealedFileError("unsigned")
        except sealed.SealedFileError as exc:
            problem = _file_problem(exc.code)
        else:
            counts = Counter()
            for item in opened.items:
                if "sealed" in item:  # kept for the volunteer at a logout, sealed one by one
                    item = _open_own(item["sealed"], opened.user_id) or {}
                body = item.get("body")
                if not isinstance(body, dict) or item.get("status") == "draft":
                    counts["unfinished"] += 1
                    continue
                counts[OUTCOMES.get(_submit_as(owner, body, item.get("kind") == "visit"), "refused")] += 1
            audit.record("interviews_imported", actor=requesting_user(), target=f"user {owner.username}",
                         detail=dict(counts))
    elif request.method == "POST":
        problem = _("The form expired. Please go back, reload the page and try again.")
    status = 422 if problem else 200
    return render_template("collect/import.html", form=form, counts=counts, problem=problem, owner=owner), status


def _file_problem(code: str) -> str:
    return {
        "other_key": _("This file was sealed for another server (or before its key was changed); it cannot be "
                       "opened here."),
        "damaged": _("This file is damaged or was changed after it was saved; nothing was imported."),
        "unsigned": _("This file does not say which volunteer saved it; nothing was imported."),
    }.get(code, _("This is not an interview file saved by the KhaoSat app; nothing was imported."))


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
    link = url_for("respond.start", slug=slug, ward=ward, codes=areas.LINK_TAG if ward is not None else None,
                   _external=True)
    svg = segno.make(link, error="m").svg_inline(scale=8, border=2, title=_("QR code to start the survey"))
    return render_template("collect/poster.html", instrument=instrument, slug=slug, wards=wards, ward=ward,
                           ward_name=names.get(ward), link=link, svg=svg)
