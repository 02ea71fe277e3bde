"""API views. Bodies are untrusted: anything malformed gets a 4xx with a message in both languages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import abort, current_app, jsonify, request

import surveys
from surveys import areas
from web import db
from web.api import bp
from web.auth import public, requesting_user, role_required
from web.catalog import current_version, find_version, instrument_of
from web.limits import limiter, setting, token_or_address
from web.models import Role
from web.privacy import location_from_meta
from web.privacy.operations import LOCATION_KEYS
from web.submissions import paradata, store

UUID_RE = re.compile(r"^[A-Za-z0-9:_-]{8,64}$")


def _bad(vi: str, en: str, status: int = 400, **extra: Any):
    return jsonify(error={"vi": vi, "en": en}, **extra), status


@bp.route("/surveys/<slug>")
@public
def get_survey(slug: str):
    version = current_version(db.session(), slug)
    if version is None:
        abort(404)
    return jsonify(surveys.instrument_to_json(instrument_of(version)))


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@bp.route("/submissions", methods=["POST"])
@limiter.limit(setting("KHAOSAT_SUBMISSION_LIMIT"), key_func=token_or_address, override_defaults=False)
@role_required(Role.volunteer, Role.supervisor, api=True)
def create_submission():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")
    uuid, slug, number = body.get("uuid"), body.get("survey"), body.get("version")
    answers, meta = body.get("answers"), body.get("meta", {})
    if not isinstance(uuid, str) or not UUID_RE.match(uuid):
        return _bad("Thiếu 'uuid' hợp lệ (8–64 ký tự).", "A valid 'uuid' (8-64 characters) is required.", 422)
    if (not isinstance(slug, str) or not isinstance(number, int) or isinstance(number, bool)
            or not 0 < number < 2**31):
        return _bad("Cần 'survey' (tên) và 'version' (số).", "'survey' (a name) and 'version' (a number) are required.", 422)
    if not isinstance(answers, dict) or not isinstance(meta, dict):
        return _bad("'answers' và 'meta' phải là đối tượng JSON.", "'answers' and 'meta' must be JSON objects.", 422)
    conflict_of = body.get("conflict_of")
    if conflict_of is not None and (not isinstance(conflict_of, str) or not UUID_RE.match(conflict_of)
                                    or conflict_of == uuid):
        return _bad("'conflict_of' phải là 'uuid' của một phiếu khác.", "'conflict_of' must be another response's 'uuid'.",
                    422, uuid=uuid)
    if body.get("area_codes", areas.CODE_LIST) != areas.CODE_LIST:  # an app with an old ward list
        return _bad("Danh sách phường, xã trên máy này đã cũ: mã phường, xã có thể chỉ một nơi khác. Hãy tải lại "
                    "ứng dụng, kiểm tra lại phường, xã của phiếu rồi gửi lại.",
                    "The ward list on this device is out of date, so a ward code may name another ward. Reload "
                    "the app, check the interview's ward and send it again.", 422, uuid=uuid)
    session = db.session()
    version = find_version(session, slug[:64], number)
    if version is None:
        return _bad("Không có phiên bản khảo sát này.", "This survey version does not exist.", 404)
    instrument = instrument_of(version)
    checked = surveys.check(instrument, answers)
    if not checked.ok:
        return jsonify(uuid=uuid, errors=checked.errors), 422
    try:
        location = location_from_meta(meta)
    except ValueError:
        return _bad("Vị trí GPS không hợp lệ: cần 'lat' (−90…90), 'lon' (−180…180) và 'accuracy_m' (mét) là số.",
                    "The GPS position is invalid: 'lat' (-90..90), 'lon' (-180..180) and 'accuracy_m' (metres) "
                    "must be numbers.", 422, uuid=uuid)
    language = meta.get("language") if meta.get("language") in instrument.languages else instrument.default_language
    started_at = _parse_time(meta.get("started_at"))
    clean_meta = {k: v for k, v in meta.items() if isinstance(k, str) and isinstance(v, str | int | float | bool)
                  and k not in LOCATION_KEYS}
    clean_meta["gps_consent"] = meta.get("gps_consent") is True
    outcome = store(session, version, instrument, uuid, checked.values, channel="interview", language=language,
                    meta=paradata(clean_meta, started_at, _parse_time(meta.get("ended_at"))), started_at=started_at,
                    volunteer_id=requesting_user().id, personal=location, conflict_of=conflict_of)
    if outcome.conflict:
        return _bad("Mã 'uuid' này đã được gửi với nội dung khác.",
                    "This 'uuid' was already submitted with different content.", 409, uuid=uuid)
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
        return _bad(f"Tham số '{exc}' không có trong khảo sát này.", f"The '{exc}' parameter is not offered by this survey.",
                    422, indicators=[i.name for i in q_offered(slug)], groups=_groups(slug))
    if q.indicator is None:
        return jsonify(survey=slug, indicator=None, rows=[])
    estimator = request.args.get("estimator", "direct")
    if estimator not in ("direct", "fh"):
        return _bad("Tham số 'estimator' phải là 'direct' hoặc 'fh'.", "'estimator' must be 'direct' or 'fh'.", 422)
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
