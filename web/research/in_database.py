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

The pages read a roll-up (:mod:`analysis.rollup`), not the rows: the survey's weighting run (:func:`refresh`)
sums every share and score indicator, and each level of a categorical one as a 0/1 indicator of its own
(:func:`level_column`), per stratum x PSU x ward x sex x age band, reading the rows once (into a table of their
own, which also makes a roll-up by area and each of :data:`OTHER_GROUPS`: :func:`group_table`,
:meth:`Served.covering`; for a survey with rounds, one by area, sex, age band and round), and :func:`served`
attaches it, so that a table by province, ward, sex or age band is a ``GROUP BY`` of that table (a few hundred
thousand rows for 10,000,000 responses). It is served while it was made from the data as they are, or
older only by new responses (then labelled with its time, a new run queued); an exclusion or new margins make it
stale until the next run. :func:`estimate` gives the results table of the pages in memory, with the same rules
(:func:`web.research.results.finished`: reliability, small cells suppressed with the cells that would give them
away, over the counts of the roll-up).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import (
    DateTime,
    Float,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

import surveys
from analysis.design import SurveyDesign
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.rollup import Rollup, as_design, open_rollup
from analysis.sql import SqlDesign
from surveys import areas
from web.cache import cached
from web.models import Response, ResponseCsv, WeightCell
from web.privacy.suppression import table_family
from web.research import derived, results, weighting
from web.research.variables import GROUP_NAMES, Indicator
from web.research.weight_cells import Cells
from web.research.weighting import Stamp, data_stamp_of, round_bounds, snapshot_key, survey_rounds
from web.tables import NONPROBABILITY, PROBABILITY, division_types, kept_responses, survey_versions

#: the domains a design estimated by the database offers, besides the whole area
DOMAINS = ("ward_code", "province_code", "former_district", "sex", "age_band")
AREAS = ("ward_code", "province_code", "former_district")  #: the area levels every roll-up holds
#: the other groups, each in a roll-up of its own by area (:func:`group_table`), not crossed with sex and age band: the
#: ward's type (phường or xã), and the answers of those names
OTHER_GROUPS = ("area_type", "ethnicity", "urban_rural", "education", "disability", "income")


def publish(session: Session, key: str, cells: Cells, provinces: areas.Provinces) -> int:
    """Write the served ``cells`` of the survey whose snapshot key is ``key`` (covering ``provinces``) into
    ``weight_cells``, replacing what was there, in the session's transaction (the caller commits); how many rows were
    written. Each row carries its ward's province and former district, for the roll-up to be grouped by them."""
    table = WeightCell.__table__
    session.execute(delete(table).where(table.c.key == key))
    t = cells.table
    wards = t["ward_code"].astype("int64").tolist()
    districts = weighting.former_district_codes(wards, provinces) or [None] * len(wards)
    rows = [dict(key=key, response_id=-1, stream=stream, ward_code=ward, sex=sex, age_band=band,
                 base_weight=float(base), province_code=areas.province_of(ward), former_district=district,
                 weight=float(weight))
            for stream, ward, sex, band, base, weight, district in zip(
                t["stream"].tolist(), wards, t["sex"].tolist(), t["age_band"].tolist(), t["base_weight"].tolist(),
                t["weight"].tolist(), districts, strict=True)]
    if cells.single:
        ward_of = dict(session.execute(select(Response.id, Response.ward_code)
                                       .where(Response.id.in_(list(cells.single)))).all())
        alone = [(int(rid), ward_of.get(rid), float(weight)) for rid, weight in cells.single.items() if weight == weight]
        districts = weighting.former_district_codes([w for _, w, _ in alone], provinces) or [None] * len(alone)
        rows += [dict(key=key, response_id=rid, stream="", ward_code=-1, sex="", age_band="", base_weight=None,
                      province_code=areas.province_of(ward) if ward is not None else None,
                      former_district=district, weight=weight)
                 for (rid, ward, weight), district in zip(alone, districts, strict=True)]
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start:start + 5000])
    return len(rows)


def _number(dialect: str, document, name: str):
    """The value of ``name`` in a JSON document as a number: a JSON number as itself, true and false as 1 and 0,
    anything else (text, null, absent) as NULL, as the table in memory reads a derived indicator. On PostgreSQL
    ``document`` is the response's ``scores`` made ``jsonb`` once a row (:func:`relation`): each ``->`` on ``json``
    parses the whole text again, 50 times a row for 25 indicators."""
    if dialect == "postgresql":
        kind = func.jsonb_typeof(document.op("->")(literal(name)))
        text = document.op("->>")(literal(name))
        return case((kind == "number", cast(text, Float)), (kind == "boolean", case((text == "true", 1.0), else_=0.0)),
                    else_=None)
    path = f'$."{name}"'
    kind = func.json_type(document, path)
    return case((kind.in_(("integer", "real")), cast(func.json_extract(document, path), Float)),
                (kind == "true", 1.0), (kind == "false", 0.0), else_=None)


def _level(dialect: str, document, name: str, code: str):
    """1 where the categorical indicator ``name`` is ``code`` (its code text, or the number it reads as: "2" is 2 and
    2.0, as :func:`web.research.weighting.code` reads it), 0 where it is another value, NULL where it has none."""
    number = _number(dialect, document, name)
    if dialect == "postgresql":
        text = document.op("->>")(literal(name))
        valid = func.jsonb_typeof(document.op("->")(literal(name))).in_(("number", "string"))
    else:
        path = f'$."{name}"'
        text = cast(func.json_extract(document, path), String)
        valid = func.json_type(document, path).in_(("integer", "real", "text"))
    same = text == code
    try:
        same = or_(same, number == float(code))
    except ValueError:
        pass
    return case((same, 1.0), (valid, 0.0), else_=None)


def _column(dialect: str, document, name: str):
    """The roll-up's indicator ``name`` read from a response's derived values: a level of a categorical indicator
    (:func:`level_column`) as 0/1, any other as a number."""
    if LEVEL in name:
        indicator, code = name.split(LEVEL, 1)
        return _level(dialect, document, indicator, code)
    return _number(dialect, document, name)


def relation(session: Session, slug: str, key: str, newest: int, indicators: Sequence[str],
             groups: Sequence[str] = ()) -> str:
    """The ``SELECT`` (text, values inlined) of the served design's rows of ``slug``: responses up to id ``newest``
    given their weight by the cells :func:`publish` wrote under ``key``, with ``indicators`` read from their
    derived values and ``groups`` (of :data:`OTHER_GROUPS`) as code text. Made once for the same survey versions,
    data, indicators and groups (compiling it took 0.2 s of a request's CPU for 66 indicators)."""
    engine = session.get_bind()
    versions = tuple(version_id for version_id, _ in survey_versions(session, slug))
    rounds = tuple(round_bounds(survey_rounds(session, slug))) if "round" in groups else ()
    return cached("derived", ("relation", engine.dialect.name, slug, key, newest, tuple(indicators), tuple(groups),
                              versions, rounds),
                  lambda: _relation(engine, key, newest, indicators, versions, groups, rounds))


def _group(dialect: str, document, answers, name: str, rounds: Sequence[tuple] = ()):
    """The group ``name`` of a response as code text: the ward's type (urban for a phường, rural for a xã or special
    zone, as :mod:`web.tables` derives it), the round whose days hold its submission (``rounds``:
    :func:`web.research.weighting.round_bounds`), else the derived value or answer of that name (NULL when it has
    none)."""
    if name == "round":
        at = Response.__table__.c.submitted_at
        return case(*((and_(at >= _instant(dialect, start), at < _instant(dialect, end)), literal(code))
                      for code, start, end in rounds), else_=None) if rounds else literal(None, String)
    if name == "area_type":
        urban = sorted(code for code, kind in division_types().items() if kind == "phường")
        return case((Response.__table__.c.ward_code.in_(urban), literal("urban")), else_=literal("rural"))
    if dialect == "postgresql":
        return func.coalesce(document.op("->>")(literal(name)), answers.op("->>")(literal(name)))
    path = f'$."{name}"'
    return func.coalesce(cast(func.json_extract(document, path), String), cast(func.json_extract(answers, path), String))


def _instant(dialect: str, at: dt.datetime):
    """A UTC instant as the literal its dialect compares with ``submitted_at`` (a ``timestamptz`` on PostgreSQL; on
    SQLite the UTC time as text, in the form SQLAlchemy writes it)."""
    at = at.astimezone(dt.UTC)
    if dialect == "postgresql":
        return cast(literal(at.isoformat(sep=" ")), DateTime(timezone=True))
    return literal(at.strftime("%Y-%m-%d %H:%M:%S.%f"))


def _relation(engine, key: str, newest: int, indicators: Sequence[str], versions: Sequence[int],
              groups: Sequence[str] = (), rounds: Sequence[tuple] = ()) -> str:
    r, kept = Response.__table__, ResponseCsv.__table__
    cell, alone = WeightCell.__table__.alias("cell"), WeightCell.__table__.alias("alone")
    weight = func.coalesce(alone.c.weight, cell.c.weight)
    columns = [r.c.id.label("response_id"), func.coalesce(r.c.stratum, cast(r.c.ward_code, String)).label("stratum"),
               func.coalesce(r.c.psu, literal("r", String) + cast(r.c.id, String)).label("psu"),
               r.c.ward_code.label("ward_code"),
               func.coalesce(alone.c.province_code, cell.c.province_code).label("province_code"),
               func.coalesce(alone.c.former_district, cell.c.former_district).label("former_district"),
               func.nullif(kept.c.sex, "").label("sex"), func.nullif(kept.c.age_band, "").label("age_band"),
               weight.label("weight")]
    joined = r.join(kept, kept.c.response_id == r.c.id)
    document = r.c.scores
    if engine.dialect.name == "postgresql" and (indicators or set(groups) - {"area_type", "round"}):
        parsed = select(cast(r.c.scores, JSONB).label("doc")).correlate(r).offset(0).lateral("parsed")  # once a row
        joined, document = joined.join(parsed, true()), parsed.c.doc
    columns += [_column(engine.dialect.name, document, name).label(name) for name in indicators]
    columns += [_group(engine.dialect.name, document, r.c.answers, name, rounds).label(name) for name in groups]
    joined = (joined
              .outerjoin(alone, and_(alone.c.key == key, alone.c.response_id == r.c.id))
              .outerjoin(cell, and_(cell.c.key == key, cell.c.response_id == -1, cell.c.stream == kept.c.stream,
                                    cell.c.ward_code == r.c.ward_code, cell.c.sex == kept.c.sex,
                                    cell.c.age_band == kept.c.age_band, cell.c.base_weight == r.c.base_weight)))
    query = select(*columns).select_from(joined).where(
        or_(*(kept_responses(v) for v in versions)) if versions else literal(False), r.c.id <= newest,
        r.c.ward_code.is_not(None), kept.c.stamp.is_not(None), weight.is_not(None))
    if engine.dialect.name == "postgresql":  # OFFSET 0: a query of these rows (the roll-up's GROUP BY) reads each
        query = query.offset(0)  # column once a row; flattened into it, every sum naming an indicator computes it
        # again (12 times an indicator: 262 s instead of 29 s for the roll-up of 1,000,000 responses)
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


def design(session: Session, slug: str, key: str, newest: int, indicators: Sequence[str],
           groups: Sequence[str] = ()) -> SqlDesign:
    """The served design of ``slug`` in the database, as the design in memory is specified."""
    return SqlDesign(session.get_bind(), relation(session, slug, key, newest, indicators, groups), weights="weight",
                     strata="stratum", psu="psu", lonely_psu="adjust")


ROLLUP_PREFIX = "khaosat_rollup_"


def rollup_table(key: str) -> str:
    """The name of the roll-up table of the survey whose snapshot key is ``key``."""
    return ROLLUP_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def group_table(key: str, group: str) -> str:
    """The name of the roll-up by area and ``group`` (one of :data:`OTHER_GROUPS`) of the survey of ``key``."""
    return f"{rollup_table(key)}_{group}"


def other_groups(instrument: surveys.Instrument, indicators: Sequence[str]) -> list[str]:
    """The groups of :data:`OTHER_GROUPS` a survey's responses can have: the ward's type, and the answers its
    instrument asks, but those that are also among its roll-up's ``indicators`` (a 0/1 answer such as disability:
    a roll-up's column holds one or the other)."""
    asked = {v.name for v in instrument.variables} - set(indicators)
    return [g for g in OTHER_GROUPS if g == "area_type" or g in asked]


LEVEL = "="  #: between a categorical indicator's name and a level's code in the roll-up's name of that level
MAX_NAME = 54  #: the longest roll-up indicator name: PostgreSQL cuts identifiers at 63 bytes ("__nother" follows)


def level_column(name: str, code: str) -> str:
    """The roll-up's 0/1 indicator of the level ``code`` of the categorical indicator ``name``."""
    return f"{name}{LEVEL}{code}"


def indicator_names(instrument: surveys.Instrument) -> list[str]:
    """The indicators a roll-up sums: the shares and scores, and each level of a categorical indicator as a 0/1
    indicator of its own (:func:`level_column`: the share of a level is that indicator's proportion)."""
    names = []
    for name in surveys.indicator_names(instrument):
        info = derived.describe(instrument, name, "en")
        if info.kind in (None, derived.SHARE, derived.SCORE):
            names.append(name)
        elif info.kind == derived.CATEGORICAL and info.levels:
            levels = [level_column(name, code) for code, _label in info.levels]
            names += levels if max(len(c.encode()) for c in levels) <= MAX_NAME else []
    return names


def refresh(session: Session, slug: str, provinces: areas.Provinces, cells: Cells, stamp: Stamp,
            as_of: dt.datetime, instrument: surveys.Instrument) -> Rollup:
    """Publish ``cells`` (made from the data of ``stamp``, read at ``as_of``) and build the survey's roll-up from
    them: the work of a large survey's weighting run after its cells and kept rows."""
    key = snapshot_key(slug, provinces)
    publish(session, key, cells, provinces)
    session.commit()
    names = indicator_names(instrument)
    t = cells.table
    raked = bool(len(t)) and not np.allclose(t["weight"].to_numpy(dtype="float64"),
                                             t["base_weight"].to_numpy(dtype="float64"), rtol=1e-12, atol=0.0)
    note = {"stamp": [stamp.data_version, stamp.newest, list(stamp.margins)], "as_of": as_of.isoformat(),
            "slug": slug, "method": "raked" if raked else "base", "weights": cells.report,
            "stream": PROBABILITY if (t["stream"] == PROBABILITY).any() or not len(t) else NONPROBABILITY}
    others = other_groups(instrument, names) + (["round"] if survey_rounds(session, slug) else [])
    note["groups"] = others
    tables = [(rollup_table(key), DOMAINS),
              *((group_table(key, g), (*(DOMAINS if g == "round" else AREAS), g)) for g in others)]
    return design(session, slug, key, stamp.newest, names, others).build_rollups(tables, names, note=note)[0]


@dataclass(frozen=True, eq=False)
class Served:
    """A large survey's figures as the database serves them."""

    design: SqlDesign  #: the served design, reading the roll-up
    rollup: Rollup
    stamp: Stamp  #: the data it was made from
    as_of: dt.datetime  #: when those data were read (UTC)
    pending: bool  #: newer responses have arrived since (a run will add them)
    others: tuple[Rollup, ...] = ()  #: the roll-ups by area and one other group each (:data:`OTHER_GROUPS`)

    def covering(self, columns: Sequence[str]) -> Served | None:
        """The figures of the roll-up holding every one of ``columns`` (an area level and groups): these, or those by
        area and another group (:func:`group_table`); None where no roll-up crosses them (another group by sex)."""
        wanted = {c for c in columns if c}
        if wanted <= set(self.rollup.keys):
            return self
        found = next((r for r in self.others if wanted <= set(r.keys)), None)
        return None if found is None else replace(self, design=self.design.with_rollup(found), rollup=found, others=())

    @property
    def stream(self) -> str:
        """The stream the figures come from: the probability sample once there is one, else the self-selected."""
        return self.rollup.note.get("stream", PROBABILITY)

    @property
    def method(self) -> str:
        """How the weights were made: "raked" (calibrated to the population) or "base" (design weights only)."""
        return self.rollup.note.get("method", "base")

    @property
    def weights(self) -> dict:
        """How the weights were made (:attr:`web.research.weight_cells.Cells.report`): their diagnostics, problem and
        wards not represented, for the weighting page."""
        return self.rollup.note.get("weights", {})

    @property
    def token(self) -> tuple:
        return (self.rollup.table, self.rollup.built_at.isoformat())

    @property
    def responses(self) -> int:
        return self.rollup.rows

    def sums(self, columns: Sequence[str], by: Sequence[str]) -> pd.DataFrame:
        """``SUM`` of the roll-up's ``columns`` grouped by ``by`` (once per roll-up)."""
        def read() -> pd.DataFrame:
            q = self.design.engine.dialect.identifier_preparer.quote
            keys = ", ".join(q(k) for k in by)
            sums = ", ".join(f"SUM({q(c)}) AS {q(c)}" for c in columns)
            sql = f"SELECT {keys + ', ' if keys else ''}{sums} FROM {q(self.rollup.table)}"
            with self.design.engine.connect() as conn:
                result = conn.execute(text(sql + (f" GROUP BY {keys}" if keys else "")))
                out = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
            return out.astype({c: "float64" for c in columns})
        return cached("derived", ("rollup_sums", *self.token, tuple(columns), tuple(by)), read)


def served(session: Session, slug: str, provinces: areas.Provinces) -> Served | None:
    """The survey's roll-up when it was made from its data as they are now, or older only by new responses; None
    when there is none (no run has made it) or it is stale (an exclusion, a correction, new margins since)."""
    key, engine = snapshot_key(slug, provinces), session.get_bind()
    try:
        rollup = open_rollup(engine, rollup_table(key), engine.dialect.identifier_preparer.quote)
    except SQLAlchemyError:
        return None
    note = rollup.note
    if "stamp" not in note:
        return None
    theirs, now = Stamp(note["stamp"][0], note["stamp"][1], tuple(note["stamp"][2])), data_stamp_of(session, slug,
                                                                                                      provinces)
    if theirs != now and not theirs.only_newer(now):
        return None
    others = []
    for group in note.get("groups", ()):
        try:
            others.append(open_rollup(engine, group_table(key, group), engine.dialect.identifier_preparer.quote))
        except SQLAlchemyError:  # made by an older version of this code: that group is not offered
            continue
    made = design(session, slug, key, theirs.newest, rollup.indicators, note.get("groups", ())).with_rollup(rollup)
    return Served(made, rollup, theirs, dt.datetime.fromisoformat(note["as_of"]), theirs != now, tuple(others))


def offered(served: Served, instrument: surveys.Instrument, lang: str) -> list[Indicator]:
    """The indicators a large survey's pages offer: those of the roll-up with data, a share only when its every
    value is 0 or 1."""
    counts = served.sums([Rollup.column(n, "nv") for n in served.rollup.indicators], [])
    found = []
    for name in dict.fromkeys(n.split(LEVEL, 1)[0] for n in served.rollup.indicators):
        if not len(counts) or not counts[Rollup.column(counted_column(served, name), "nv")].iloc[0] > 0:
            continue
        info = derived.describe(instrument, name, lang)
        binary = name in served.rollup.binary
        kind = info.kind or (derived.SHARE if binary else derived.SCORE)
        if kind == derived.SHARE and not binary:
            continue
        found.append(Indicator(name, info.label, kind, "", info.levels))
    headline = [i for name in derived.HEADLINE for i in found if i.name == name]  # in the order of the pages in memory
    return headline + [i for i in found if i.name not in derived.HEADLINE]


def counted_column(served: Served, name: str) -> str:
    """The roll-up indicator whose respondents are the indicator ``name``'s: itself, or for a categorical indicator
    its first level held (every level counts the respondents with a value)."""
    if name in served.rollup.indicators:
        return name
    return next(n for n in served.rollup.indicators if n.split(LEVEL, 1)[0] == name)


def groups(served: Served) -> list[str]:
    """The groups with data, in the order the pages in memory offer them (:data:`web.research.variables.GROUP_NAMES`):
    sex and age band, crossed in the roll-up, and each of :data:`OTHER_GROUPS` in its own."""
    present = served.sums(["nr"], ["sex", "age_band"])
    found = {g for g in ("sex", "age_band") if present[g].notna().any()}
    for rollup in served.others:
        group = rollup.keys[-1]
        if served.covering([group]).sums(["nr"], [group])[group].notna().any():
            found.add(group)
    return [g for g in GROUP_NAMES if g in found]


def estimate(served: Served, indicator: Indicator, by: list[str], min_cell: int | None = None,
             family_groups: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per domain of ``by`` (and level of a categorical indicator), as :func:`web.research.results.estimate`
    gives it from a design in memory: reliability flagged, cells with fewer than ``min_cell`` respondents (default:
    ``MIN_CELL_COUNT``) suppressed and, with ``family_groups``, those the protected tables hide besides them."""
    by = [b for b in by if b]
    served = served.covering(by)

    def compute() -> pd.DataFrame:
        protect = None if family_groups is None else family(served, indicator.name, family_groups)
        return results.finished(_estimates(served, indicator, by), indicator, by, min_cell, family=protect)

    groups = None if family_groups is None else tuple(family_groups)
    return cached("derived", ("rollup_table", *served.token, indicator.name, tuple(by), min_cell, groups),
                  compute).copy()


def unweighted_vs_weighted(served: Served, indicator: Indicator, by: str | None,
                           family_groups: Sequence[str]) -> pd.DataFrame:
    """The weighted estimate next to the unweighted mean of its respondents, by ``by`` or overall (the weighting
    page's table, :func:`web.research.results.unweighted_vs_weighted` of a design in memory): the plain mean is the
    roll-up's sum of values over its count of respondents."""
    weighted = estimate(served, indicator, [by] if by else [], family_groups=family_groups)
    total, count = Rollup.column(indicator.name, "sy"), Rollup.column(indicator.name, "nv")
    sums = served.covering([by]).sums([total, count], [by] if by else [])
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = (sums[total] / sums[count]).to_numpy(dtype="float64")
    return results.beside(weighted, pd.Series(plain, index=sums[by]) if by else float(plain[0]), by)


def _estimates(served: Served, indicator: Indicator, by: list[str]) -> pd.DataFrame:
    """The estimates of ``indicator`` by ``by`` before the rules (reliability, suppression), once per roll-up."""
    def compute() -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if indicator.kind == derived.SCORE:
                out = served.design.mean(indicator.name, by=by or None)
                out["people"] = out["people_low"] = out["people_high"] = np.nan
                return out
            if indicator.categorical:
                return _levels(served, indicator, by)
            out = served.design.proportion(indicator.name, by=by or None, ci_method=results.CI_METHOD)
            return results.with_people(out, indicator, _population(served, indicator.name, by, out))

    return cached("derived", ("rollup_estimates", *served.token, indicator.name, tuple(by)), compute)


def _levels(served: Served, indicator: Indicator, by: list[str]) -> pd.DataFrame:
    """The share of each level of a categorical indicator by ``by`` (the rows the design in memory's proportion gives,
    domain by domain, its levels in order): each the proportion of the level's 0/1 indicator, whose respondents are
    the indicator's; the levels nobody has are left out, as the design in memory does not see them."""
    held = [(code, level_column(indicator.name, code)) for code, _label in indicator.levels
            if level_column(indicator.name, code) in served.rollup.indicators]
    totals = served.sums([Rollup.column(column, "swy") for _code, column in held], [])
    had = [(order, code, column) for order, (code, column) in enumerate(held)
           if totals[Rollup.column(column, "swy")].iloc[0] > 0]
    shares = served.design.proportions([column for _, _, column in had], by=by or None, ci_method=results.CI_METHOD)
    parts = []
    for order, code, column in had:  # one GROUP BY of the roll-up for every level
        share = shares[column]
        share = share[pd.to_numeric(share[column]) == 1].drop(columns=[column])
        share.attrs = {}  # the estimator's variance matrix: not for pages
        parts.append(share.assign(**{indicator.name: code, "_order": order}))
    if not parts:  # values outside the levels only
        return pd.DataFrame(columns=[*by, "category", *results.COLUMNS])
    out = pd.concat(parts, ignore_index=True).sort_values([*by, "_order"], kind="stable").drop(columns="_order")
    out = out.reset_index(drop=True)
    return results.with_people(out, indicator, _population(served, counted_column(served, indicator.name), by, out))


def _population(served: Served, name: str, by: list[str], rows: pd.DataFrame) -> np.ndarray:
    """The estimated population of each row's domain: the weights of its respondents with an answer."""
    sums = served.sums([Rollup.column(name, "sw")], by)
    if not by:
        return np.full(len(rows), float(sums.iloc[0, 0]))
    keyed = rows[by].merge(sums, on=by, how="left")
    return keyed[Rollup.column(name, "sw")].to_numpy(dtype="float64")


def family(served: Served, name: str, family_groups: Sequence[str]):
    """The protected tables of the indicator over the roll-up's counts of its respondents (made once per roll-up): by
    area, sex and age band; by area and another group over the roll-up of that group, which holds its tables (one
    group each: another group is not crossed with sex or age band at this size)."""
    def build():
        areas_held = [c for c in ("province_code", "former_district", "ward_code") if c in served.rollup.keys]
        held = [g for g in family_groups if g in served.rollup.keys]
        columns = [*areas_held, *held]
        counted = Rollup.column(counted_column(served, name), "nv")
        counts = served.sums([counted], columns)
        records = counts[counts[counted] > 0]
        return table_family(records[columns], held, counts=records[counted].to_numpy(dtype="int64"))

    return cached("derived", ("rollup_family", *served.token, name, tuple(family_groups)), build)


def groups_design(served: Served, name: str) -> SurveyDesign:
    """A design in memory of the roll-up's groups standing for their respondents for the indicator ``name``
    (:func:`analysis.rollup.as_design`; its counts in :data:`analysis.rollup.RESPONDENTS`), for what needs the whole
    linearisation (the left-behind ranking's gaps): made once per roll-up (18,963 rows at 1,000,000 responses)."""
    def build() -> SurveyDesign:
        q = served.design.engine.dialect.identifier_preparer.quote
        columns = [*served.rollup.keys, "nr", "swall", *(Rollup.column(name, stat) for stat in ("sw", "nv", "swy"))]
        with served.design.engine.connect() as conn:
            result = conn.execute(text(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(served.rollup.table)}"))
            groups = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
        return as_design(groups, name, "stratum", "psu", lonely_psu="adjust")

    return cached("derived", ("rollup_design", *served.token, name), build)


def present(served: Served, column: str) -> list:
    """The codes of ``column`` (an area level) with respondents in the roll-up."""
    sums = served.sums(["nr"], [column])
    return sums.loc[sums["nr"] > 0, column].dropna().tolist()
