"""A survey's weighting cells grouped by the database: the cross-table its weights are raked from, without
reading its responses.

One ``GROUP BY`` over the responses the weighted design holds (:func:`web.tables.kept_responses` of every
version, up to the newest response of the stamp) by what a final weight depends on: the ward, the stored base
weight, whether the response has a PSU (its stream), and the JSON values its sex and age band are made from (a
derived value in ``scores`` taken over an answer of the same name, as :mod:`web.tables` does), with the count
of each, and the least and greatest PSU. Each distinct value is then coded by the table's own functions
(:func:`web.research.weighting.code`, :func:`web.population.age_band` of the response's year of arrival in UTC
less its birth year), so a cell has the key :func:`web.research.weight_cells.cell_keys` writes. Rows stay in
the database; what comes back is one row per distinct combination: a few hundred thousand at most (3,321
communes x 2 sexes x ~80 birth years), whatever the number of responses.

Interviews of sampled households are read one by one (their base weight is raised for the households of their
class that gave no interview: :func:`web.sampling.nonresponse_factors`); those whose factor is not 1 keep
their own row (``response_id``), as :mod:`web.research.weight_cells` lists them. The rest is the design's rule
(:mod:`web.research.weighting`): once any response has a PSU only those are weighted, and responses without a
ward are not.

One difference from the table read in memory, on data no form makes: that table takes a question's column from
``scores`` for a whole chunk of 10,000 responses when any of them has it there; here each response's own
``scores`` decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Text, case, cast, exists, func, literal
from sqlmodel import Session, select

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas
from web.models import Response, SampledHousehold
from web.population import age_band
from web.research.weighting import code
from web.sampling import nonresponse_factors
from web.tables import NONPROBABILITY, PROBABILITY, kept_responses, survey_versions

READ = ("sex", "birth_year", "age_band")  #: the answers (or derived values) a cell's sex and age band come from
NAMES = ("ward_code", "base_weight", "self_selected", *READ, "year", "n", "least_psu", "greatest_psu")


@dataclass(frozen=True)
class CrossTable:
    """The weighting cells of a survey's weighted responses."""

    #: stream, ward_code, province_code, sex, age_band (code text, None when missing), base_weight (adjusted for
    #: non-response), stored_weight (the design weight stored, before that adjustment), n, response_id (-1, or the
    #: one response of a cell of its own)
    cells: pd.DataFrame
    units: int  #: how many distinct PSUs the cells hold, counted up to 2
    columns: frozenset[str]  #: which of "sex" and "age_band" any response has (the table's columns)


def read(session: Session, slug: str, newest: int) -> CrossTable:
    """The cross-table of the responses of ``slug`` up to id ``newest``."""
    grouped = pd.concat([_grouped(session, slug, newest, linked) for linked in (False, True)], ignore_index=True)
    #: the table's columns are those of every response (of either stream), as its age band is derived when any
    #: response has a birth year
    columns = frozenset(name for name, sources in (("sex", ["sex"]), ("age_band", ["birth_year", "age_band"]))
                        if grouped[sources].notna().to_numpy().any())
    derive = bool(grouped["birth_year"].notna().any())
    probability = not grouped["self_selected"].astype(bool).all()
    if probability:  # the official stream: see web.research.weighting.official_stream
        grouped = grouped[~grouped["self_selected"].astype(bool)].reset_index(drop=True)
    grouped = _adjusted(session, grouped, probability)
    grouped = _coded(grouped[grouped["ward_code"].notna()].reset_index(drop=True), derive)
    return CrossTable(_cells(grouped), _units(grouped), columns)


def _document_value(session: Session, key: str):
    """The JSON text of ``key`` in a response's ``scores``, else in its ``answers`` (NULL when in neither)."""
    if session.get_bind().dialect.name != "sqlite":
        return func.coalesce(cast(Response.scores.op("->")(literal(key)), Text),
                             cast(Response.answers.op("->")(literal(key)), Text))
    path = f'$."{key}"'  # JSON1's functions (SQLite's "->" needs 3.38, Ubuntu 22.04 has 3.37)

    def value(document):
        return case((func.json_type(document, path).is_(None), None),
                    else_=func.json_quote(func.json_extract(document, path)))

    return func.coalesce(value(Response.scores), value(Response.answers))


def _year(session: Session):
    """The year of a response's arrival, in UTC."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("year", func.timezone("UTC", Response.submitted_at))
    return func.extract("year", Response.submitted_at)


def _grouped(session: Session, slug: str, newest: int, linked: bool) -> pd.DataFrame:
    """The responses grouped by :data:`NAMES`' keys (``linked``: the interviews of sampled households, one by
    one, with their ``response_id``)."""
    keys = [Response.ward_code, Response.base_weight, Response.psu.is_(None),
            *(_document_value(session, k) for k in READ), _year(session)]
    if linked:
        keys.append(Response.id)
    household = exists().where(SampledHousehold.response_uuid == Response.uuid)
    rows = []
    for version_id, _ in survey_versions(session, slug):
        query = select(*keys, func.count(), func.min(Response.psu), func.max(Response.psu)).where(
            kept_responses(version_id), Response.id <= newest, household if linked else ~household).group_by(*keys)
        rows += session.exec(query).all()
    names = [*NAMES[:-3], "response_id"] if linked else list(NAMES[:-3])
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[*names, *NAMES[-3:]])
    return frame if linked else frame.assign(response_id=-1)


def _adjusted(session: Session, grouped: pd.DataFrame, probability: bool) -> pd.DataFrame:
    """The base weights of the sampled households' interviews adjusted for non-response (when the probability
    stream is weighted, as :func:`web.research.weighting.with_nonresponse_factors`); those adjusted keep their
    ``response_id``, the others are cells like any."""
    grouped = grouped.astype({"base_weight": "float64", "n": "int64", "response_id": "int64"})
    grouped["stored_weight"] = grouped["base_weight"]
    ids = grouped.loc[grouped["response_id"] >= 0, "response_id"].tolist()
    if not probability or not ids:
        return grouped.assign(response_id=-1)
    factors = nonresponse_factors(session, ids)
    factor = grouped["response_id"].map(factors).fillna(1.0).to_numpy(dtype="float64")
    return grouped.assign(base_weight=grouped["base_weight"].to_numpy() * factor,
                          response_id=np.where(factor != 1, grouped["response_id"], -1))


def _decoded(texts: pd.Series) -> pd.Series:
    """Each JSON text as its value (None for NULL); each distinct text decoded once."""
    values = {t: json.loads(t) for t in texts.dropna().unique()}
    return pd.Series([values.get(t) if isinstance(t, str) else None for t in texts], index=texts.index, dtype=object)


def _coded(grouped: pd.DataFrame, derive: bool) -> pd.DataFrame:
    """The grouped rows with sex and age band as code text (None when missing; ``derive``: the age band from the
    birth year), the stream and the province."""
    if grouped.empty:
        return grouped.assign(stream=[], province_code=[])
    if derive:
        born = pd.to_numeric(_decoded(grouped["birth_year"]), errors="coerce")
        bands = age_band(pd.to_numeric(grouped["year"]).to_numpy(dtype="float64") - born.to_numpy(dtype="float64"))
    else:
        bands = _decoded(grouped["age_band"])
    ward = grouped["ward_code"].astype("int64")
    return grouped.assign(
        sex=[code(v) for v in _decoded(grouped["sex"])], age_band=[code(v) for v in bands], ward_code=ward,
        stream=np.where(grouped["self_selected"].astype(bool), NONPROBABILITY, PROBABILITY),
        province_code=ward.map({w: areas.province_of(int(w)) for w in ward.unique()}))


def _cells(grouped: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (and per response of a cell of its own), its respondents counted (the stored weight is the
    base weight but in a response's cell of its own)."""
    keys = ["stream", "ward_code", "province_code", "sex", "age_band", "base_weight", "stored_weight", "response_id"]
    if grouped.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    return grouped.groupby(keys, dropna=False, sort=False, as_index=False)["n"].sum()


def _units(grouped: pd.DataFrame) -> int:
    """Distinct PSUs up to 2: a probability sample's stored ones; a self-selected response is its own."""
    if grouped.empty:
        return 0
    if (grouped["stream"] == NONPROBABILITY).all():
        return min(2, int(grouped["n"].sum()))
    least, greatest = grouped["least_psu"].dropna(), grouped["greatest_psu"].dropna()
    return 1 if least.min() == greatest.max() else 2
