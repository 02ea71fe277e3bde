"""Surveys in the database: publishing instruments as versions, finding the current one, and areas.

Publishing the same definition twice changes nothing; a changed definition becomes a new version,
and responses keep the version they answered. Uploads are kept as drafts (:func:`save_draft`); the
states a version goes through are in :mod:`web.lifecycle`. A version is published only when its survey names the
personal data controller and a privacy contact for the privacy notice (Law 91/2025/QH15); until
then it waits as a draft, and the admin settings page fills them in.
"""

from __future__ import annotations

import functools
import hashlib
import json

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.orm import defer
from sqlmodel import Session, or_, select

import surveys
from surveys import Instrument, collation
from surveys import areas as area_data
from web import lifecycle
from web.cache import app_cache, cached
from web.models import Area, Survey, SurveyVersion
from web.models.base import as_loaded, utcnow
from web.models.surveys import VersionState


def checksum(definition: dict) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


#: what the built-in (demo) surveys name as controller and contact, so that ``make run`` can publish
#: them; a real deployment replaces both in the admin settings
DEMO_CONTROLLER = "KhaoSat demo (bản trình diễn, chưa phải một cơ quan thật / not a real organisation)"
DEMO_CONTACT = "privacy@khaosat.example"


def publish(session: Session, instrument: Instrument, *, controller: str | None = None,
            contact: str | None = None) -> SurveyVersion:
    """Open ``instrument`` (a no-op if this exact definition is already a version): for the built-in
    surveys and ``khaosat import-form``, which an operator runs on purpose; uploads are drafts first.

    ``controller`` and ``contact`` fill the survey's privacy settings where they are empty. Without
    them the new version is kept as a draft until they are filled in; publishing the same definition
    again once they are opens that draft. Opening a version closes the survey's other open one.
    """
    survey = session.exec(select(Survey).where(Survey.slug == instrument.slug)).first()
    if survey is None:
        survey = Survey(slug=instrument.slug)
    survey.controller = survey.controller or controller
    survey.privacy_contact = survey.privacy_contact or contact
    session.add(survey)
    session.flush()
    version = _stored(session, survey, instrument)
    if version.state in (VersionState.draft, VersionState.preview) and survey.is_publishable:
        lifecycle.change(session, version, survey, VersionState.open, actor_name="import-form")
    session.commit()
    return version


def save_draft(session: Session, survey: Survey, instrument: Instrument, source_file: str | None = None
               ) -> SurveyVersion:
    """Keep ``instrument`` as a draft version of ``survey`` (the same definition again: that version)."""
    session.add(survey)
    session.flush()
    version = _stored(session, survey, instrument, source_file)
    session.commit()
    return version


def _stored(session: Session, survey: Survey, instrument: Instrument, source_file: str | None = None
            ) -> SurveyVersion:
    """The version of ``survey`` holding exactly this definition, or a new draft numbered after the others."""
    definition = json.loads(json.dumps(instrument.source, ensure_ascii=False, default=str))
    digest = checksum(definition)
    versions = session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == survey.id).order_by(SurveyVersion.version)
    ).all()
    for existing in versions:
        if existing.checksum == digest:
            return existing
    number = max([v.version for v in versions] + [instrument.version - 1]) + 1
    definition["version"] = number
    version = SurveyVersion(survey_id=survey.id, version=number, definition=definition, checksum=digest,
                            source_file=(source_file or "")[:200] or None)
    session.add(version)
    session.flush()
    return version


def next_version_number(session: Session, survey: Survey) -> int:
    numbers = session.exec(select(SurveyVersion.version).where(SurveyVersion.survey_id == survey.id)).all()
    return max(numbers, default=0) + 1


#: the versions that results pages and submissions look up (twice a request) come without their definition, the
#: whole instrument as JSON: decoding it took longer than the query; it is read when first used (:func:`instrument_of`
#: builds each version's instrument once per app)
_DEFINITION_LATER = defer(SurveyVersion.definition)


def current_version(session: Session, slug: str) -> SurveyVersion | None:
    """The version of the survey ``slug`` taking responses now (open, within its dates)."""
    now = utcnow()
    return session.exec(
        select(SurveyVersion).options(_DEFINITION_LATER)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(Survey.slug == slug, SurveyVersion.status == VersionState.open.value,
               or_(SurveyVersion.opens_at.is_(None), SurveyVersion.opens_at <= now),
               or_(SurveyVersion.closes_at.is_(None), SurveyVersion.closes_at > now))
        .order_by(SurveyVersion.version.desc())
    ).first()


#: the states whose responses are reported (results, lists of surveys with results)
REPORTED = (VersionState.open.value, VersionState.closed.value)


def reported_version(session: Session, slug: str, archived: bool = False) -> SurveyVersion | None:
    """The newest version of ``slug`` that has been fielded (open or closed; archived too if asked):
    the instrument that results and exports of the survey are described by."""
    states = (*REPORTED, VersionState.archived.value) if archived else REPORTED
    return session.exec(
        select(SurveyVersion).options(_DEFINITION_LATER)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(Survey.slug == slug, SurveyVersion.status.in_(states))
        .order_by(SurveyVersion.version.desc())
    ).first()


def find_version(session: Session, slug: str, number: int) -> SurveyVersion | None:
    """A given version of ``slug`` that was ever fielded (offline clients may answer a closed one).

    Its definition never changes, so it is kept in the app's cache once found; its state is read
    again every time (a version closes while phones still hold it) into a copy of the cached version, which
    itself is never written: requests in other threads share it.
    """
    cache = app_cache()
    key = (session.get_bind().url.render_as_string(), slug, number)
    version = cache.get("version", key) if cache is not None else None
    if version is None:
        version = session.exec(
            select(SurveyVersion)
            .join(Survey, Survey.id == SurveyVersion.survey_id)
            .where(Survey.slug == slug, SurveyVersion.version == number, SurveyVersion.published_at.is_not(None))
        ).first()
        if version is None:
            return None
        version.definition  # noqa: B018 - loaded before it is copied or leaves the session (deferred)
        if cache is not None:
            session.expunge(version)
            cache.put("version", key, version)
    state = session.connection().execute(_state_statement(), {"version_id": version.id}).first()
    if state is None:
        return None
    return _with_state(version, state)


def _with_state(version: SurveyVersion, state) -> SurveyVersion:
    """A copy of ``version`` (in no session) holding ``state``: its status and dates as read now."""
    fields = {k: v for k, v in version.__dict__.items() if k != "_sa_instance_state"}
    return as_loaded(SurveyVersion, {**fields, **state._asdict()})


@functools.cache
def _state_statement():
    """A version's state and dates, built once (every submission reads them; a Core statement)."""
    table = SurveyVersion.__table__
    return select(table.c.status, table.c.retired_at, table.c.opens_at, table.c.closes_at).where(
        table.c.id == bindparam("version_id"))


def instrument_of(version: SurveyVersion) -> Instrument:
    """The instrument of a stored version, built once per app (versions are immutable)."""
    return cached("instrument", (version.id, version.version, version.checksum),
                  lambda: surveys.from_dict(version.definition, f"version {version.id}"))


def publish_builtin(session: Session) -> list[SurveyVersion]:
    """Publish the built-in surveys, with the demo controller and contact where none is set."""
    return [publish(session, instrument, controller=DEMO_CONTROLLER, contact=DEMO_CONTACT)
            for instrument in surveys.builtin_instruments()]


def load_areas(session: Session) -> int:
    """Fill the areas table from the official code table (idempotent); returns how many were added."""
    existing = {tuple(row) for row in session.exec(select(Area.level, Area.code)).all()}
    added = 0
    for province in area_data.provinces():
        units = (province, *area_data.wards(province.code))
        for unit in units:
            if (unit.level, unit.code) not in existing:
                session.add(Area(level=unit.level, code=unit.code, name=unit.name,
                                 division_type=unit.division_type, parent_code=unit.parent_code))
                added += 1
    session.commit()
    return added


def ward_names(session: Session, provinces: area_data.Provinces) -> dict[int, str]:
    """The wards and communes of one or several provinces, code -> name, in Vietnamese alphabetical order."""
    codes = area_data.province_codes(provinces)
    rows = session.exec(select(Area.code, Area.name, Area.division_type)  # columns, not objects: 3,321 a nation
                        .where(Area.level == "ward", Area.parent_code.in_(codes))).all()
    rows = sorted(rows, key=lambda row: collation.ward_key(row.name, row.division_type))
    return {row.code: row.name for row in rows}


def survey_provinces(session: Session, slug: str) -> tuple[int, ...]:
    """The provinces survey ``slug`` covers: its instrument's ``area`` setting, else the installation's
    ``KHAOSAT_PROVINCE`` (the default for surveys that say nothing, as before surveys could cover several)."""
    version = reported_version(session, slug, archived=True) or current_version(session, slug)
    if version is not None and instrument_of(version).area:
        return instrument_of(version).area
    return (int(current_app.config["KHAOSAT_PROVINCE"]),)


def installation_provinces(session: Session) -> tuple[int, ...]:
    """Every province some survey covers (what sample frames, covariates and ward assignments may name), in
    code order; ``KHAOSAT_PROVINCE`` when no survey says anything."""
    slugs = session.exec(select(Survey.slug)).all()
    codes = {code for slug in slugs for code in survey_provinces(session, slug)}
    return tuple(sorted(codes or {int(current_app.config["KHAOSAT_PROVINCE"])}))
