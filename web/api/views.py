"""API views. Bodies are untrusted: anything malformed gets a 4xx with a message in both languages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, jsonify, request
from sqlmodel import select

import surveys
from web import db, lifecycle, sampling, synthetic
from web.api import bodies, bp, households, validation
from web.api.openapi import document
from web.auth import public, requesting_user, role_required
from web.catalog import current_version, find_version, instrument_of, reported_version, survey_provinces
from web.client_times import parse_timestamp
from web.errors import errors_reply, refuse
from web.i18n import language, lazy_gettext
from web.limits import limiter, setting, token_or_address
from web.messages import as_sentences
from web.models import Response, Role, SurveyVersion
from web.privacy import location_from_meta
from web.research import (
    database_results,
    in_database,
    query,
    results,
    small_area,
    streams,
    variables,
    weighting,
)
from web.research.weighting import weighted
from web.review import arrival_flags
from web.submissions import insert, paradata

NO_VERSION = lazy_gettext("This survey version does not exist.")
NOT_OFFERED = lazy_gettext("This parameter is not offered by this survey.")
CONFLICT = lazy_gettext("This 'uuid' was already submitted with different content.")
SURVEY_CLOSED = lazy_gettext("This survey is closed: it takes no new responses.")
SURVEY_CLOSED_SINCE = lazy_gettext("This survey closed before this interview began, so it cannot be accepted. "
                                   "The interview stays on the phone; ask your supervisor what to do with it.")
BAD_ESTIMATOR = lazy_gettext("'estimator' must be 'direct' or 'fh'.")


@bp.route("/surveys/<slug>")
@public
def get_survey(slug: str):
    version = current_version(db.session(), slug)
    if version is None:
        if reported_version(db.session(), slug, archived=True) is not None:
            return refuse(410, SURVEY_CLOSED, field="survey", code="survey_closed")
        abort(404)
    return jsonify(surveys.instrument_to_json(instrument_of(version)))


class Refused(Exception):
    """A submission turned away: ``reply`` is the 4xx to send."""

    def __init__(self, reply) -> None:
        super().__init__()
        self.reply = reply


@dataclass
class Accepted:
    """A submission whose answers, paradata, location and household passed every check."""

    version: SurveyVersion
    instrument: surveys.Instrument
    values: dict[str, Any]
    paradata: bodies.CheckedMeta
    location: dict[str, Any] | None
    design: households.Design | None  #: of an interview of a sampled household


@bp.route("/submissions", methods=["POST"])
@limiter.limit(setting("KHAOSAT_SUBMISSION_LIMIT"), key_func=token_or_address, override_defaults=False)
@role_required(Role.volunteer, Role.supervisor, api=True)
def create_submission():
    """Store one interview: 201 the first time, 200 when the same ``uuid`` comes again with the same
    content, 409 with other content; the response and its quality flags are one transaction."""
    session = db.session()
    try:
        received = read_submission(request)
        accepted = _accept(session, received)
    except Refused as refused:
        return refused.reply
    body = received.body
    uuid = body["uuid"]
    outcome = insert(session, accepted.version, accepted.instrument, uuid, accepted.values, **_fields(body, accepted))
    if outcome.conflict:
        session.rollback()
        return refuse(409, CONFLICT, field="uuid", uuid=uuid)
    if outcome.created:  # an interview outside the volunteer's wards is kept, and flagged for the supervisor
        arrival_flags(session, outcome.response, {accepted.version.id: accepted.instrument},
                      current_app.config["KHAOSAT_MIN_INTERVIEW_SECONDS"], volunteer=requesting_user())
    session.commit()
    if accepted.design and outcome.created:
        sampled = accepted.design
        sampling.interviewed(session, sampled.household, uuid, requesting_user().id, sampled.adults,
                             sampled.adult_probability, accepted.paradata.started_at)
    reply = {"uuid": uuid, "id": outcome.response.id, "survey": body["survey"], "version": body["version"],
             "received_at": outcome.response.submitted_at.isoformat()}
    return jsonify(reply), 201 if outcome.created else 200


def read_submission(req) -> bodies.CheckedSubmission:
    """The submission's body, read and checked by :func:`web.api.bodies.read_submission`; raises
    :class:`Refused` for a problem found before the survey is looked up (no database needed)."""
    received = bodies.read_submission(req)
    body, problems = received.body, received.at(bodies.OUTLINE)
    if problems:
        known = {"uuid": body["uuid"]} if "uuid" not in problems and isinstance(body, dict) else {}
        raise Refused(errors_reply(problems, 400 if "_" in problems else 422, **known))
    uuid = body["uuid"]
    if "conflict_of" in received.at(bodies.BEFORE_LOOKUP):
        raise Refused(refuse(422, bodies.CONFLICT_OF, field="conflict_of", uuid=uuid))
    if "area_codes" in received.at(bodies.BEFORE_LOOKUP):  # an app with an old ward list
        raise Refused(refuse(422, bodies.OLD_WARD_LIST, field="area_codes", uuid=uuid))
    return received


def _accept(session, received: bodies.CheckedSubmission) -> Accepted:
    """The checked submission: its version (open, or closed after the interview began), answers,
    paradata, consented location and sampled household; raises :class:`Refused`."""
    body, paradata_ = received.body, received.meta
    uuid = body["uuid"]
    version = find_version(session, body["survey"], body["version"])
    if version is None:
        raise Refused(refuse(404, NO_VERSION, field="survey", uuid=uuid))
    if not lifecycle.accepts_interview(version, paradata_.started_at) \
            and session.exec(select(Response.id).where(Response.uuid == uuid)).first() is None:
        raise Refused(refuse(410, SURVEY_CLOSED_SINCE, field="survey", uuid=uuid, code="survey_closed"))
    instrument = instrument_of(version)
    checked = surveys.check(instrument, body["answers"])
    if not checked.ok or paradata_.problems:
        raise Refused(errors_reply({**as_sentences(checked.errors), **paradata_.problems}, 422, uuid=uuid))
    try:
        location = location_from_meta(body.get("meta") or {})
    except ValueError:
        raise Refused(refuse(422, bodies.META_GPS, field="meta.gps", uuid=uuid)) from None
    if "household" in received.at(bodies.HOUSEHOLD_STEP):
        raise Refused(refuse(422, households.HOUSEHOLD, field="household", uuid=uuid))
    design, problem = households.sample_design(session, body.get("household"), requesting_user().id)
    if problem is not None:
        raise Refused(refuse(422, problem, field="household", uuid=uuid))
    return Accepted(version, instrument, checked.values, paradata_, location, design)


def _fields(body: dict[str, Any], accepted: Accepted) -> dict[str, Any]:
    """What :func:`web.submissions.insert` stores beside the answers: paradata, volunteer, design, location."""
    meta, instrument = accepted.paradata.stored, accepted.instrument
    language = meta.get("language") if meta.get("language") in instrument.languages else instrument.default_language
    sampled = accepted.design
    design = {"stratum": sampled.stratum, "psu": sampled.psu, "base_weight": sampled.base_weight} if sampled else {}
    return dict(channel="interview", language=language, conflict_of=body.get("conflict_of"),
                meta=paradata(meta, accepted.paradata.started_at, accepted.paradata.ended_at),
                started_at=accepted.paradata.started_at, volunteer_id=requesting_user().id,
                personal=accepted.location, **design)


VISIT = lazy_gettext("A visit needs 'uuid' (the phone's key for it), 'household' (a sampled household assigned to "
                     "you) and 'code' (an AAPOR disposition code such as 1.1, 2.11, 2.24, 4.60); 'visited_at' and "
                     "'callback_at' are optional times.")
VISIT_CONFLICT = lazy_gettext("This visit's 'uuid' was already sent with a different household, outcome or time.")


@bp.route("/visits", methods=["POST"])
@limiter.limit(setting("KHAOSAT_SUBMISSION_LIMIT"), key_func=token_or_address, override_defaults=False)
@role_required(Role.volunteer, Role.supervisor, api=True)
def post_visit():
    """Record a visit to a sampled household: its AAPOR outcome, when, and a callback if one is set.

    Like a submission, a visit is stored once by its ``uuid``: 201 the first time, 200 with the same body
    when it comes again unchanged, 409 when the key comes with other content."""
    try:
        body = validation.read_body(request)
    except validation.BadBody as exc:
        return refuse(400, exc.message)
    if not isinstance(body, dict):
        return refuse(422, VISIT, field="_")
    uuid = body.get("uuid")
    if not bodies.is_uuid(uuid):
        return refuse(422, VISIT, field="uuid")
    session = db.session()
    household = sampling.assigned_household(session, body.get("household"), requesting_user().id)
    checked = bodies.read_visit(body)
    if household is None or checked is None:
        return refuse(422, VISIT, field="household" if household is None else "code", uuid=uuid)
    when, callback = parse_timestamp(checked.visited_at), parse_timestamp(checked.callback_at)
    try:
        visit, created = sampling.record_visit_once(session, household, uuid, checked.code, requesting_user().id,
                                                    when, callback, checked.note)
    except sampling.SamplingError:
        return refuse(422, VISIT, field="code", uuid=uuid)
    except sampling.VisitConflict:
        return refuse(409, VISIT_CONFLICT, field="uuid", uuid=uuid)
    return jsonify(uuid=uuid, id=visit.id, household=household.id, code=visit.code,
                   final=household.final_code), 201 if created else 200


@bp.route("/results/<slug>")
@role_required(Role.researcher, api=True)
def get_results(slug: str):
    """Weighted estimates: ``indicator``, ``level`` (national|province|ward|former_district: ``national`` for
    surveys covering several provinces), ``by`` (a group, or ``ward``), ``by2``. ``former_district`` is a 422
    where no province of the survey has a conversion table.
    ``estimator=fh``: model-based (small-area) estimates by ward instead, with the direct ones alongside."""
    if reported_version(db.session(), slug) is None:
        abort(404)
    try:
        q = query.read(slug, request.args, api=True)
    except weighting.TooLarge:
        return _results_from_the_database(slug)
    except query.BadQuery as exc:
        return refuse(422, NOT_OFFERED, field=str(exc), indicators=[i.name for i in q_offered(slug)],
                      groups=_groups(slug))
    if q.indicator is None:
        return _results(survey=slug, indicator=None, rows=[])
    estimator = request.args.get("estimator", "direct")
    if estimator not in ("direct", "fh"):
        return refuse(422, BAD_ESTIMATOR, field="estimator")
    if estimator == "fh":  # model-based (Fay–Herriot) ward estimates, always by ward
        q = query.read(slug, {**request.args.to_dict(), "level": "ward", "by": "", "by2": ""}, api=True)
        return _results(survey=slug, indicator=q.indicator.name, weights=q.data.method,
                        **small_area.api_rows(q, request.args.get("benchmark", ""), request.args.get("province")))
    both = request.args.get("streams", "official")
    if both not in ("official", "both"):
        return refuse(422, NOT_OFFERED, field="streams")
    table = query.table(q)
    table = table.astype(object).where(table.notna(), None)
    return _results(survey=slug, indicator=q.indicator.name, kind=q.indicator.kind, stream=streams.official_label(q),
                    **({"streams": _streams(q)} if both == "both" else {}),
                    ci_method=None if q.indicator.kind == "score" else results.CI_METHOD, level=q.level,
                    by=[c for c in (q.by, q.by2) if c], weights=q.data.method, benchmark=query.benchmark(q),
                    as_of=q.data.as_of.isoformat() if q.data.as_of else None, updating=q.pending,
                    rows=table.to_dict(orient="records"))


def _results_from_the_database(slug: str):
    """The results of a survey over the in-memory limit, from the database (:mod:`web.research.database_results`):
    direct estimates, or with ``estimator=fh`` the model-based ward estimates made from them (``streams=both``
    answers 409: the roll-up holds the official stream only)."""
    estimator = request.args.get("estimator", "direct")
    if estimator not in ("direct", "fh"):
        return refuse(422, BAD_ESTIMATOR, field="estimator")
    if request.args.get("streams", "official") != "official":
        raise weighting.TooLarge(current_app.config["KHAOSAT_CELLS_IN_DATABASE_THRESHOLD"])
    figures = database_results.served(slug)
    args = request.args if estimator == "direct" else {**request.args.to_dict(), "level": "ward", "by": "", "by2": ""}
    try:
        q = database_results.read(slug, args, figures, api=True)
    except query.BadQuery as exc:
        return refuse(422, NOT_OFFERED, field=str(exc), indicators=[i.name for i in _offered_in_database(slug, figures)],
                      groups=in_database.groups(figures))
    if q.indicator is None:
        return _results(survey=slug, indicator=None, rows=[])
    made = {"weights": figures.method, "as_of": figures.as_of.isoformat(), "updating": figures.pending,
            "computed": "database"}
    if estimator == "fh":
        return _results(survey=slug, indicator=q.indicator.name, **made,
                        **small_area.api_rows(q, request.args.get("benchmark", ""), request.args.get("province")))
    table = query.table(q)
    table = table.astype(object).where(table.notna(), None)
    return _results(survey=slug, indicator=q.indicator.name, kind=q.indicator.kind, stream=figures.stream,
                    ci_method=None if q.indicator.kind == "score" else results.CI_METHOD, level=q.level,
                    by=[c for c in (q.by, q.by2) if c], benchmark=query.benchmark(q), **made,
                    rows=table.to_dict(orient="records"))


def _offered_in_database(slug: str, figures) -> list:
    return in_database.offered(figures, instrument_of(reported_version(db.session(), slug)), language())


def _streams(q) -> dict:
    """Both streams cell by cell (:func:`web.research.streams.side_by_side`) with the gap, for ``streams=both``."""

    table = streams.side_by_side(q)
    rows = [] if table is None else table.rename(columns=lambda c: c.replace("first_", "official_").replace(
        "second_", "self_selected_")).astype(object)
    return {"official": "probability", "other": "nonprobability", "variance": "independent",
            "rows": [] if table is None else rows.where(rows.notna(), None).to_dict(orient="records")}


def _results(**fields):
    """A results reply; from the synthetic demo it says so (``synthetic``, ``notice``), as the pages and files do."""
    demo = synthetic.is_demo()
    return jsonify(**fields, synthetic=demo, **({"notice": synthetic.notice()} if demo else {}))


def q_offered(slug: str):
    data = weighted(db.session(), slug, survey_provinces(db.session(), slug))
    instrument = instrument_of(reported_version(db.session(), slug))
    return variables.indicators(instrument, data, language())


def _groups(slug: str) -> list[str]:
    data = weighted(db.session(), slug, survey_provinces(db.session(), slug))
    return variables.groups(data.frame, data.facts) if not data.frame.empty else []


@bp.route("/openapi.json")
@public
def openapi():
    """The OpenAPI 3 description of the API and the researcher downloads."""
    return jsonify(document())
