"""Surveys in the database: publishing instruments as versions, finding the current one, and areas.

Publishing the same definition twice changes nothing; a changed definition becomes a new version,
and responses keep the version they answered. A version is published only when its survey names the
personal data controller and a privacy contact for the privacy notice (Law 91/2025/QH15); until
then it waits as a draft, and the admin settings page fills them in.
"""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session, select

import surveys
from surveys import Instrument, collation
from surveys import areas as area_data
from web.models import Area, Survey, SurveyVersion
from web.models.base import utcnow


def checksum(definition: dict) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


#: what the built-in (demo) surveys name as controller and contact, so that ``make run`` can publish
#: them; a real deployment replaces both in the admin settings
DEMO_CONTROLLER = "KhaoSat demo (bản trình diễn, chưa phải một cơ quan thật / not a real organisation)"
DEMO_CONTACT = "privacy@khaosat.example"


def publish(session: Session, instrument: Instrument, *, controller: str | None = None,
            contact: str | None = None) -> SurveyVersion:
    """Publish ``instrument`` (a no-op if this exact definition is already a version).

    ``controller`` and ``contact`` fill the survey's privacy settings where they are empty. Without
    them the new version is kept as a draft (``published_at`` is None) until they are filled in;
    publishing the same definition again once they are publishes that draft.
    """
    survey = session.exec(select(Survey).where(Survey.slug == instrument.slug)).first()
    if survey is None:
        survey = Survey(slug=instrument.slug)
    survey.controller = survey.controller or controller
    survey.privacy_contact = survey.privacy_contact or contact
    session.add(survey)
    session.flush()
    definition = json.loads(json.dumps(instrument.source, ensure_ascii=False, default=str))
    digest = checksum(definition)
    versions = session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == survey.id).order_by(SurveyVersion.version)
    ).all()
    for existing in versions:
        if existing.checksum == digest:
            if existing.published_at is None and survey.is_publishable:  # it was waiting for the settings
                existing.published_at = utcnow()
                session.add(existing)
            session.commit()
            return existing
    number = max([v.version for v in versions] + [instrument.version - 1]) + 1
    definition["version"] = number
    version = SurveyVersion(survey_id=survey.id, version=number, definition=definition, checksum=digest,
                            published_at=utcnow() if survey.is_publishable else None)
    session.add(version)
    session.commit()
    return version


def current_version(session: Session, slug: str) -> SurveyVersion | None:
    """The newest published, not retired, version of the survey ``slug``."""
    return session.exec(
        select(SurveyVersion)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(Survey.slug == slug, SurveyVersion.published_at.is_not(None), SurveyVersion.retired_at.is_(None))
        .order_by(SurveyVersion.version.desc())
    ).first()


def find_version(session: Session, slug: str, number: int) -> SurveyVersion | None:
    """A given version of ``slug``, retired or not (offline clients may answer a retired one).

    A published version never changes, so it is remembered per process once found.
    """
    key = (session.get_bind().url.render_as_string(), slug, number)
    if key in _published:
        return _published[key]
    version = session.exec(
        select(SurveyVersion)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(Survey.slug == slug, SurveyVersion.version == number, SurveyVersion.published_at.is_not(None))
    ).first()
    if version is not None:
        session.expunge(version)
        _published[key] = version
    return version


_published: dict[tuple[str, str, int], SurveyVersion] = {}


def instrument_of(version: SurveyVersion) -> Instrument:
    """The instrument of a stored version, built once per process (versions are immutable)."""
    key = (version.id, version.version, version.checksum)
    if key not in _instruments:
        _instruments[key] = surveys.from_dict(version.definition, f"version {version.id}")
    return _instruments[key]


_instruments: dict[tuple[int | None, int, str], Instrument] = {}


def forget_versions() -> None:
    """Drop the per-process memory of versions (for tests that empty the database)."""
    _published.clear()
    _instruments.clear()


def publish_builtin(session: Session) -> list[SurveyVersion]:
    """Publish the built-in surveys, with the demo controller and contact where none is set."""
    return [publish(session, instrument, controller=DEMO_CONTROLLER, contact=DEMO_CONTACT)
            for instrument in surveys.builtin_instruments()]


def load_areas(session: Session) -> int:
    """Fill the areas table from the official code table (idempotent); returns how many were added."""
    existing = {(a.level, a.code) for a in session.exec(select(Area)).all()}
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


def ward_names(session: Session, province_code: int) -> dict[int, str]:
    """The province's wards and communes, code -> name, in Vietnamese alphabetical order."""
    rows = session.exec(select(Area).where(Area.level == "ward", Area.parent_code == province_code)).all()
    rows = sorted(rows, key=lambda a: collation.ward_key(a.name, a.division_type))
    return {a.code: a.name for a in rows}
