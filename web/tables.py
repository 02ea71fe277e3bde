"""The one place that turns stored responses into a table (a pandas DataFrame) for analysis and export.

Responses excluded in quality review are left out. Personal details never enter the table.

One row per response: identifiers, design variables (stratum, psu, weight), the ward, every answer
(multiple-choice answers as one 0/1 column per choice), every derived indicator, and the groups
derived for analysis: ``age_band`` (from ``birth_year`` and the year of the response) and
``area_type`` (urban for a phường, rural for a xã or special zone, from the ward's division type).

:func:`iter_frames` gives the same table in chunks, so exports of any size stream in flat memory.
Rows are read as plain columns (answers and indicators as JSON text, decoded a chunk at a time) and
the table is built column by column, never one Python object per response.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast
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
    return (select(Response.id, SurveyVersion.version, Response.ward_code, Response.channel, Response.language,
                   Response.submitted_at, Response.stratum, Response.psu, Response.base_weight,
                   cast(Response.answers, Text), cast(Response.scores, Text))
            .join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
            .join(Survey, Survey.id == SurveyVersion.survey_id)
            .where(Survey.slug == slug, Response.is_excluded == False)  # noqa: E712 - SQL expression
            .order_by(Response.id))


def _documents(texts: Sequence[str]) -> pd.DataFrame:
    """JSON objects (one per response) as columns; a list of codes becomes a 1/missing column per code."""
    frame = pd.DataFrame.from_records(json.loads("[" + ",".join(texts) + "]"), index=range(len(texts)))
    columns: dict[str, pd.Series] = {}
    for name, column in frame.items():
        is_list = np.fromiter((type(v) is list for v in column.to_numpy()), bool, len(column)) \
            if column.dtype == object else None
        if is_list is None or not is_list.any():
            columns[name] = column
            continue
        if (~is_list & column.notna().to_numpy()).any():
            columns[name] = column.where(~is_list)
        chosen = column[is_list].explode().dropna()
        for code in pd.unique(chosen.to_numpy()):
            dummy = np.full(len(column), np.nan)
            dummy[chosen.index[(chosen == code).to_numpy()]] = 1
            columns[f"{name}_{code}"] = pd.Series(dummy, index=frame.index)
    return pd.DataFrame(columns, index=frame.index)


def _frame(rows: Sequence[tuple]) -> pd.DataFrame:
    (ids, versions, wards, channels, languages, submitted, strata, psus, weights, answers, scores) = zip(*rows, strict=True)
    ids, strata, psus = pd.Series(ids), pd.Series(strata, dtype=object), pd.Series(psus, dtype=object)
    design = pd.DataFrame({
        "response_id": ids, "survey_version": versions, "ward_code": wards, "channel": channels,
        "language": languages, "submitted_at": submitted,
        "stratum": strata.where(strata.notna(), pd.Series(wards, dtype=object).map(str)).infer_objects(),
        "psu": psus.where(psus.notna(), "r" + ids.astype(str)).infer_objects(),
        "weight": weights,
    })
    answered, derived = _documents(answers), _documents(scores)
    answered = answered.drop(columns=[c for c in answered.columns if c in derived.columns or c in design.columns])
    return _derive(pd.concat([design, answered, derived.drop(columns=[c for c in derived.columns
                                                                      if c in design.columns])], axis=1))


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    if "birth_year" in frame.columns:
        year = pd.to_datetime(frame["submitted_at"], utc=True).dt.year
        frame["age_band"] = age_band(year - pd.to_numeric(frame["birth_year"], errors="coerce")).to_numpy()
    division = pd.to_numeric(frame["ward_code"], errors="coerce").map(_division_types())
    frame["area_type"] = pd.Series(np.where(division == "phường", "urban", "rural"), index=frame.index,
                                   dtype=object).where(frame["ward_code"].notna(), None).infer_objects()
    return frame


@contextmanager
def _collection_paused():
    """Decoding a chunk makes a few hundred thousand objects, none of them garbage; the cyclic collector
    would otherwise walk every live object many times over while they are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def iter_frames(session: Session, slug: str, chunk_size: int = 5000) -> Iterator[pd.DataFrame]:
    """The responses to ``slug`` as DataFrames of at most ``chunk_size`` rows, oldest first."""
    for rows in session.exec(_query(slug).execution_options(yield_per=chunk_size)).partitions(chunk_size):
        with _collection_paused():
            frame = _frame(rows)
        yield frame


def responses_frame(session: Session, slug: str) -> pd.DataFrame:
    """All responses to every version of survey ``slug``, pooled by question name."""
    frames = list(iter_frames(session, slug))
    if not frames:
        return pd.DataFrame(columns=DESIGN_COLUMNS)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
