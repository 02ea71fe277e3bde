"""API views. Bodies are untrusted: anything malformed gets a 4xx with a message in both languages."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, current_app, jsonify, request

import surveys
from surveys import areas
from web import db
from web.api import bp, validation
from web.auth import public, requesting_user, role_required
from web.catalog import current_version, find_version, instrument_of
from web.errors import errors_reply, refuse
from web.i18n import in_every_language, lazy_gettext
from web.limits import limiter, setting, token_or_address
from web.models import Role
from web.privacy import location_from_meta
from web.submissions import paradata, store

UUID_RE = re.compile(r"^[A-Za-z0-9:_-]{8,64}$")


UUID_MESSAGE = lazy_gettext("A valid 'uuid' (8 to 64 letters, digits, '-', '_' or ':') is required.")
SURVEY_MESSAGE = lazy_gettext("'survey' (a name) and 'version' (a number) are required.")
OBJECTS_MESSAGE = lazy_gettext("'answers' and 'meta' must be JSON objects.")
NO_VERSION = lazy_gettext("This survey version does not exist.")
NOT_OFFERED = lazy_gettext("This parameter is not offered by this survey.")
CONFLICT = lazy_gettext("This 'uuid' was already submitted with different content.")
CONFLICT_OF = lazy_gettext("'conflict_of' must be another response's 'uuid'.")
OLD_WARD_LIST = lazy_gettext("The ward list on this device is out of date, so a ward code may name another ward. "
                             "Reload the app, check the interview's ward and send it again.")
BAD_ESTIMATOR = lazy_gettext("'estimator' must be 'direct' or 'fh'.")


@bp.route("/surveys/<slug>")
@public
def get_survey(slug: str):
    version = current_version(db.session(), slug)
    if version is None:
        abort(404)
    return jsonify(surveys.instrument_to_json(instrument_of(version)))


def _shape(body: Any) -> dict[str, dict[str, str]]:
    """Problems with the body's outline: the uuid, survey, version, answers and meta members."""
    if not isinstance(body, dict):
        return {"_": in_every_language(validation.NOT_JSON)}
    problems = validation.storable(body)
    uuid, slug, number = body.get("uuid"), body.get("survey"), body.get("version")
    if not isinstance(uuid, str) or not UUID_RE.match(uuid):
        problems["uuid"] = in_every_language(UUID_MESSAGE)
    if (not isinstance(slug, str) or not 0 < len(slug) <= 64 or not isinstance(number, int)
            or isinstance(number, bool) or not 0 < number < 2**31):
        problems.setdefault("survey", in_every_language(SURVEY_MESSAGE))
    if not isinstance(body.get("answers"), dict):
        problems.setdefault("answers", in_every_language(OBJECTS_MESSAGE))
    if not isinstance(body.get("meta", {}), dict):
        problems.setdefault("meta", in_every_language(OBJECTS_MESSAGE))
    return problems


@bp.route("/submissions", methods=["POST"])
@limiter.limit(setting("KHAOSAT_SUBMISSION_LIMIT"), key_func=token_or_address, override_defaults=False)
@role_required(Role.volunteer, Role.supervisor, api=True)
def create_submission():
    try:
        body = validation.read_body(request)
    except validation.BadBody as exc:
        return refuse(400, exc.message)
    problems = _shape(body)
    if problems:
        return errors_reply(problems, 400 if "_" in problems else 422,
                            **({"uuid": body["uuid"]} if "uuid" not in problems and isinstance(body, dict) else {}))
    uuid, slug, number, answers = body["uuid"], body["survey"], body["version"], body["answers"]
    conflict_of = body.get("conflict_of")
    if conflict_of is not None and (not isinstance(conflict_of, str) or not UUID_RE.match(conflict_of)
                                    or conflict_of == uuid):
        return refuse(422, CONFLICT_OF, field="conflict_of", uuid=uuid)
    if body.get("area_codes", areas.CODE_LIST) != areas.CODE_LIST:  # an app with an old ward list
        return refuse(422, OLD_WARD_LIST, field="area_codes", uuid=uuid)
    session = db.session()
    version = find_version(session, slug, number)
    if version is None:
        return refuse(404, NO_VERSION, field="survey", uuid=uuid)
    paradata_ = validation.check_meta(body.get("meta"))
    instrument = instrument_of(version)
    checked = surveys.check(instrument, answers)
    if not checked.ok or paradata_.problems:
        return errors_reply({**checked.errors, **paradata_.problems}, 422, uuid=uuid)
    try:
        location = location_from_meta(body.get("meta") or {})
    except ValueError:
        return refuse(422, validation.META_GPS, field="meta.gps", uuid=uuid)
    meta = paradata_.stored
    language = meta.get("language") if meta.get("language") in instrument.languages else instrument.default_language
    outcome = store(session, version, instrument, uuid, checked.values, channel="interview", language=language,
                    meta=paradata(meta, paradata_.started_at, paradata_.ended_at), started_at=paradata_.started_at,
                    volunteer_id=requesting_user().id, personal=location, conflict_of=conflict_of)
    if outcome.conflict:
        return refuse(409, CONFLICT, field="uuid", uuid=uuid)
    body = {"uuid": uuid, "id": outcome.response.id, "survey": slug, "version": number,
            "received_at": outcome.response.submitted_at.isoformat()}
    return jsonify(body), 201 if outcome.created else 200


@bp.route("/results/<slug>")
@role_required(Role.researcher, api=True)
def get_results(slug: str):
    """Weighted estimates: ``indicator``, ``level`` (province|ward|former_district), ``by`` (a group, or
    ``ward``), ``by2``. ``former_district`` is a 422 where the province has no conversion table.
    ``estimator=fh``: model-based (small-area) estimates by ward instead, with the direct ones alongside."""
    from web.research import query, results

    if current_version(db.session(), slug) is None:
        abort(404)
    try:
        q = query.read(slug, request.args, api=True)
    except query.BadQuery as exc:
        return refuse(422, NOT_OFFERED, field=str(exc), indicators=[i.name for i in q_offered(slug)],
                      groups=_groups(slug))
    if q.indicator is None:
        return jsonify(survey=slug, indicator=None, rows=[])
    estimator = request.args.get("estimator", "direct")
    if estimator not in ("direct", "fh"):
        return refuse(422, BAD_ESTIMATOR, field="estimator")
    if estimator == "fh":  # model-based (Fay–Herriot) ward estimates, always by ward
        from web.research import small_area

        q = query.read(slug, {**request.args.to_dict(), "level": "ward", "by": "", "by2": ""}, api=True)
        return jsonify(survey=slug, indicator=q.indicator.name, weights=q.data.method,
                       **small_area.api_rows(q, request.args.get("benchmark", "")))
    table = query.table(q)
    table = table.astype(object).where(table.notna(), None)
    return jsonify(survey=slug, indicator=q.indicator.name, kind=q.indicator.kind,
                   ci_method=None if q.indicator.kind == "score" else results.CI_METHOD, level=q.level,
                   by=[c for c in (q.by, q.by2) if c], weights=q.data.method, benchmark=query.benchmark(q),
                   rows=table.to_dict(orient="records"))


def q_offered(slug: str):
    from web.i18n import language
    from web.research import variables
    from web.research.weighting import weighted

    data = weighted(db.session(), slug, current_app.config["KHAOSAT_PROVINCE"])
    instrument = instrument_of(current_version(db.session(), slug))
    return variables.indicators(instrument, data, language())


def _groups(slug: str) -> list[str]:
    from web.research import variables
    from web.research.weighting import weighted

    frame = weighted(db.session(), slug, current_app.config["KHAOSAT_PROVINCE"]).frame
    return variables.groups(frame) if not frame.empty else []


@bp.route("/openapi.json")
@public
def openapi():
    """The OpenAPI 3 description of the API and the researcher downloads."""
    from web.api.openapi import document

    return jsonify(document())
