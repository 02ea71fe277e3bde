"""A survey too large for its weighted design in memory, estimated by the database.

Over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` responses a survey's design is not made in memory (about 4 GiB a
million responses): its weighting run makes only its weighting cells, from the database's cross-table
(:mod:`web.research.weight_cells`), and the kept rows of its data file (:mod:`web.research.fragments`), which
hold each response's cell key (stream, sex and age band as code text). The final weight of a response is its
cell's, so the database can give every response its weight by a join, without a row in memory:
:func:`publish` writes the served cells into ``weight_cells`` and :func:`relation` is the ``SELECT`` of the
served design's rows (stratum, PSU, ward, province, sex, age band, final weight, and the derived indicators read
from ``scores``), the rows the design in memory holds: the kept responses of the official stream up to the
newest the cells were made from, with a ward. :func:`design` is the :class:`analysis.sql.SqlDesign` over them
(weights fixed, strata and PSUs as stored, a lonely PSU adjusted: the design in memory's options), whose
estimates are those of the design in memory (tests/web/test_estimates_in_database.py checks 1e-9).

A response whose kept row is stale (changed since it was rendered: its cell key may have changed too) has no
weight here until the next weighting run renders it again; :func:`stale_rows` counts them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Float, String, and_, case, cast, delete, func, insert, literal, or_, select
from sqlmodel import Session

from analysis.lazy import pandas as pd
from analysis.sql import SqlDesign
from surveys import areas
from web.models import Response, ResponseCsv, WeightCell
from web.research.weight_cells import Cells
from web.tables import kept_responses, survey_versions

#: the domains a design estimated by the database offers, besides the whole area
DOMAINS = ("ward_code", "province_code", "sex", "age_band")


def publish(session: Session, key: str, cells: Cells) -> int:
    """Write the served ``cells`` of the survey whose snapshot key is ``key`` into ``weight_cells``, replacing
    what was there, in the session's transaction (the caller commits); how many rows were written."""
    table = WeightCell.__table__
    session.execute(delete(table).where(table.c.key == key))
    t = cells.table
    wards = t["ward_code"].astype("int64").tolist()
    rows = [dict(key=key, response_id=-1, stream=stream, ward_code=ward, sex=sex, age_band=band,
                 base_weight=float(base), province_code=areas.province_of(ward), weight=float(weight))
            for stream, ward, sex, band, base, weight in zip(t["stream"].tolist(), wards, t["sex"].tolist(),
                                                              t["age_band"].tolist(), t["base_weight"].tolist(),
                                                              t["weight"].tolist(), strict=True)]
    if cells.single:
        ward_of = dict(session.execute(select(Response.id, Response.ward_code)
                                       .where(Response.id.in_(list(cells.single)))).all())
        rows += [dict(key=key, response_id=int(rid), stream="", ward_code=-1, sex="", age_band="", base_weight=None,
                      province_code=areas.province_of(ward_of[rid]) if ward_of.get(rid) is not None else None,
                      weight=float(weight)) for rid, weight in cells.single.items() if weight == weight]
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start:start + 5000])
    return len(rows)


def _number(dialect: str, document, name: str):
    """The value of ``name`` in a JSON document as a number: a JSON number as itself, true and false as 1 and 0,
    anything else (text, null, absent) as NULL, as the table in memory reads a derived indicator."""
    if dialect == "postgresql":
        kind = func.json_typeof(document.op("->")(literal(name)))
        text = document.op("->>")(literal(name))
        return case((kind == "number", cast(text, Float)), (kind == "boolean", case((text == "true", 1.0), else_=0.0)),
                    else_=None)
    path = f'$."{name}"'
    kind = func.json_type(document, path)
    return case((kind.in_(("integer", "real")), cast(func.json_extract(document, path), Float)),
                (kind == "true", 1.0), (kind == "false", 0.0), else_=None)


def relation(session: Session, slug: str, key: str, newest: int, indicators: Sequence[str]) -> str:
    """The ``SELECT`` (text, values inlined) of the served design's rows of ``slug``: responses up to id ``newest``
    given their weight by the cells :func:`publish` wrote under ``key``, with ``indicators`` read from their
    derived values."""
    r, kept = Response.__table__, ResponseCsv.__table__
    cell, alone = WeightCell.__table__.alias("cell"), WeightCell.__table__.alias("alone")
    engine = session.get_bind()
    weight = func.coalesce(alone.c.weight, cell.c.weight)
    columns = [func.coalesce(r.c.stratum, cast(r.c.ward_code, String)).label("stratum"),
               func.coalesce(r.c.psu, literal("r", String) + cast(r.c.id, String)).label("psu"),
               r.c.ward_code.label("ward_code"),
               func.coalesce(alone.c.province_code, cell.c.province_code).label("province_code"),
               func.nullif(kept.c.sex, "").label("sex"), func.nullif(kept.c.age_band, "").label("age_band"),
               weight.label("weight")]
    columns += [_number(engine.dialect.name, r.c.scores, name).label(name) for name in indicators]
    joined = (r.join(kept, kept.c.response_id == r.c.id)
              .outerjoin(alone, and_(alone.c.key == key, alone.c.response_id == r.c.id))
              .outerjoin(cell, and_(cell.c.key == key, cell.c.response_id == -1, cell.c.stream == kept.c.stream,
                                    cell.c.ward_code == r.c.ward_code, cell.c.sex == kept.c.sex,
                                    cell.c.age_band == kept.c.age_band, cell.c.base_weight == r.c.base_weight)))
    versions = [version_id for version_id, _ in survey_versions(session, slug)]
    query = select(*columns).select_from(joined).where(
        or_(*(kept_responses(v) for v in versions)) if versions else literal(False), r.c.id <= newest,
        r.c.ward_code.is_not(None), kept.c.stamp.is_not(None), weight.is_not(None))
    return str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def stale_rows(session: Session, slug: str, newest: int) -> int:
    """How many kept responses up to ``newest`` have no kept row of their data file, or a stale one (their cell
    key unknown to the database until their row is rendered again)."""
    r, kept = Response.__table__, ResponseCsv.__table__
    versions = [version_id for version_id, _ in survey_versions(session, slug)]
    if not versions:
        return 0
    query = select(func.count()).select_from(r.outerjoin(kept, kept.c.response_id == r.c.id)).where(
        or_(*(kept_responses(v) for v in versions)), r.c.id <= newest, r.c.ward_code.is_not(None),
        kept.c.stamp.is_(None))
    return int(session.execute(query).scalar_one())


def design(session: Session, slug: str, key: str, newest: int, indicators: Sequence[str]) -> SqlDesign:
    """The served design of ``slug`` in the database, as the design in memory is specified."""
    return SqlDesign(session.get_bind(), relation(session, slug, key, newest, indicators), weights="weight",
                     strata="stratum", psu="psu", lonely_psu="adjust")


def frame(session: Session, sql: str) -> pd.DataFrame:
    """The rows of :func:`relation` (for tests and small surveys: a survey estimated by the database is never read
    whole)."""
    from sqlalchemy import text

    result = session.execute(text(sql))
    return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
