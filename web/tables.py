"""The one place that turns stored responses into a table (a pandas DataFrame) for analysis and export.

Responses excluded in quality review are left out. Personal details never enter the table.

One row per response: identifiers, design variables (stratum, psu, weight), the ward, every answer
(multiple-choice answers as one 0/1 column per choice), every derived indicator, and the groups
derived for analysis: ``age_band`` (from ``birth_year`` and the year of the response) and
``area_type`` (urban for a phường, rural for a xã or special zone, from the ward's division type).

:func:`iter_frames` gives the same table in chunks, so exports of any size stream in flat memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pandas as pd
from sqlmodel import Session, select

from surveys import areas
from web.models import Response, Survey, SurveyVersion
from web.population import age_band

DESIGN_COLUMNS = ["response_id", "survey_version", "ward_code", "channel", "language",
                  "submitted_at", "stratum", "psu", "weight"]
DERIVED_GROUPS = ["age_band", "area_type"]


@cache
def _division_types() -> dict[int, str]:
    return {w.code: w.division_type for p in areas.provinces() for w in areas.wards(p.code)}


def _query(slug: str):
    return (select(Response, SurveyVersion.version)
            .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
            .join(Survey, Survey.id == SurveyVersion.survey_id)
            .where(Survey.slug == slug, Response.is_excluded == False)  # noqa: E712 - SQL expression
            .order_by(Response.id))


def _record(response: Response, version: int) -> dict:
    record = {
        "response_id": response.id,
        "survey_version": version,
        "ward_code": response.ward_code,
        "channel": response.channel,
        "language": response.language,
        "submitted_at": response.submitted_at,
        "stratum": response.stratum if response.stratum is not None else str(response.ward_code),
        "psu": response.psu if response.psu is not None else f"r{response.id}",
        "weight": response.base_weight,
    }
    for name, value in response.answers.items():
        if isinstance(value, list):
            for code in value:
                record[f"{name}_{code}"] = 1
        else:
            record[name] = value
    record.update(response.scores)
    return record


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    if "birth_year" in frame.columns:
        year = pd.to_datetime(frame["submitted_at"], utc=True).dt.year
        frame["age_band"] = age_band(year - pd.to_numeric(frame["birth_year"], errors="coerce")).to_numpy()
    types = _division_types()
    frame["area_type"] = frame["ward_code"].map(
        lambda c: None if pd.isna(c) else ("urban" if types.get(int(c)) == "phường" else "rural"))
    return frame


def iter_frames(session: Session, slug: str, chunk_size: int = 5000) -> Iterator[pd.DataFrame]:
    """The responses to ``slug`` as DataFrames of at most ``chunk_size`` rows, oldest first."""
    records = []
    for response, version in session.exec(_query(slug).execution_options(yield_per=chunk_size)):
        records.append(_record(response, version))
        if len(records) == chunk_size:
            yield _derive(pd.DataFrame.from_records(records))
            records = []
    if records:
        yield _derive(pd.DataFrame.from_records(records))


def responses_frame(session: Session, slug: str) -> pd.DataFrame:
    """All responses to every version of survey ``slug``, pooled by question name."""
    frames = list(iter_frames(session, slug))
    if not frames:
        return pd.DataFrame(columns=DESIGN_COLUMNS)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
