"""The one place that turns stored responses into a table (a pandas DataFrame) for analysis and export.

Responses rejected in review (``is_excluded``) are left out. Personal details never enter the table.
Whatever changes which responses or values this table holds (a review status, a correction) calls
:func:`responses_changed`, so that caches built on it (the weighted design) are dropped at once.

One row per response: identifiers, design variables (stratum, psu, weight), the ``stream`` (``probability``:
the response has a PSU from a sample draw or the demo's design; ``nonprobability``: QR/link self-completion
and interviews of no sampled household, whose stratum is the ward and PSU the response itself), the ward, every answer
(multiple-choice answers as one 0/1 column per choice), every derived indicator, and the groups
derived for analysis: ``age_band`` (from ``birth_year`` and the year of the response) and
``area_type`` (urban for a phường, rural for a xã or special zone, from the ward's division type).

:func:`iter_frames` gives the same table in chunks, so exports of any size stream in flat memory.
Rows are read as the database driver gives them (answers and indicators as JSON text) and each
chunk's JSON is decoded by Arrow straight into columns, never one Python object per response; a
chunk Arrow cannot type (a question answered with a number in one response and text in another, a
roster of rows) is decoded by the standard library instead, with the same result.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Text, cast, event, func, inspect, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import pyarrow as pa
from analysis.lazy import pyarrow_compute as pc
from analysis.lazy import pyarrow_json
from surveys import areas
from web.models import Response, Survey, SurveyVersion
from web.population import age_band

DESIGN_COLUMNS = ["response_id", "survey_version", "ward_code", "channel", "language",
                  "submitted_at", "stratum", "psu", "weight", "edited"]
DERIVED_GROUPS = ["age_band", "area_type"]
PROBABILITY, NONPROBABILITY = "probability", "nonprobability"  #: the ``stream`` column's values


def responses_changed(session: OrmSession, survey_id: int | None = None, *,
                      survey_version_ids: Sequence[int] = ()) -> None:
    """Say that responses of a survey changed other than by a new response (an exclusion or rejection in
    review, an edit, an erasure): its cached weights and results are rebuilt before they are shown again.

    Call it in the transaction that makes the change (it commits nothing). Changes made through the ORM
    (``session.add`` of a changed :class:`Response`, ``session.delete``) call it by themselves at flush;
    a bulk ``UPDATE`` or ``DELETE`` must call it. New responses need no call: they are seen by their id.
    """
    table = Survey.__table__
    if survey_id is not None:
        where = table.c.id == survey_id
    elif survey_version_ids:
        where = table.c.id.in_(select(SurveyVersion.survey_id).where(SurveyVersion.id.in_(sorted(survey_version_ids))))
    else:
        return
    session.connection().execute(update(table).where(where).values(data_version=table.c.data_version + 1))


#: columns of a response that no table reads: changing them changes no result
_UNREAD = frozenset({"erase_code", "meta", "conflict_of", "volunteer_id", "started_at", "content_hash"})


def _changed(response: Response) -> bool:
    state = inspect(response)
    return any(state.attrs[name].history.has_changes() for name in state.mapper.column_attrs.keys()
               if name not in _UNREAD)


def _changed_at_flush(session: OrmSession, _context) -> None:
    """:func:`responses_changed` for every survey whose responses this flush changed or deleted."""
    versions = {r.survey_version_id for r in session.deleted if isinstance(r, Response)}
    versions |= {r.survey_version_id for r in session.dirty if isinstance(r, Response) and _changed(r)}
    if versions:
        responses_changed(session, survey_version_ids=list(versions))


def watch_changes() -> None:
    """Call :func:`responses_changed` at every flush that changes or deletes responses (once per process)."""
    if not event.contains(OrmSession, "after_flush", _changed_at_flush):
        event.listen(OrmSession, "after_flush", _changed_at_flush)


def data_stamp(session: Session, slug: str) -> tuple[int, int] | None:
    """``(data_version, newest response id)`` of survey ``slug`` (None when there is no such survey): what
    cached results compare. Two index look-ups per version, whatever the number of responses."""
    newest = (select(func.max(Response.id)).where(Response.survey_version_id == SurveyVersion.id)
              .correlate(SurveyVersion).scalar_subquery())
    per_version = select(func.max(newest)).where(SurveyVersion.survey_id == Survey.id).correlate(Survey) \
        .scalar_subquery()
    row = session.exec(select(Survey.data_version, per_version).where(Survey.slug == slug)).first()
    return None if row is None else (int(row[0]), int(row[1] or 0))


@cache
def division_types() -> dict[int, str]:
    """Each ward's division type (phường, xã or đặc khu), by its code."""
    return {w.code: w.division_type for p in areas.provinces() for w in areas.wards(p.code)}


def survey_versions(session: Session, slug: str) -> list[tuple[int, int]]:
    """The ``(id, version number)`` of every version of survey ``slug``, oldest first: the order the table
    and every file give the responses in."""
    return list(session.exec(select(SurveyVersion.id, SurveyVersion.version)
                             .join(Survey, Survey.id == SurveyVersion.survey_id)
                             .where(Survey.slug == slug).order_by(SurveyVersion.version)).all())


def kept_responses(version_id: int):
    """The responses of one version that count: every table, file and estimate reads these (not
    excluded after review, not a test answered in a staff preview)."""
    return ((Response.survey_version_id == version_id) & (Response.is_excluded == False)  # noqa: E712 - SQL
            & (Response.is_test == False))  # noqa: E712 - SQL


def _query(version_id: int):
    """One version's responses, oldest first: with the version fixed, its index gives them in order
    (a join over every version would make the database sort the whole table before the first row)."""
    return (select(Response.id, Response.ward_code, Response.channel, Response.language,
                   Response.submitted_at, Response.stratum, Response.psu, Response.base_weight,
                   Response.revision, cast(Response.answers, Text), cast(Response.scores, Text))
            .where(kept_responses(version_id)).order_by(Response.id))


def response_ids(session: Session, slug: str) -> list[int]:
    """The ids of the responses :func:`iter_frames` gives, in the same order."""
    return [i for version_id, _ in survey_versions(session, slug)
            for i in session.exec(select(Response.id).where(kept_responses(version_id)).order_by(Response.id)).all()]


def response_count(session: Session, slug: str) -> int:
    """How many responses :func:`iter_frames` gives (one COUNT per version, no rows read)."""
    return sum(session.exec(select(func.count()).select_from(Response).where(kept_responses(version_id))).one()
               for version_id, _ in survey_versions(session, slug))


#: the JSON value types Arrow's columns may hold for :func:`_documents` to take its result as it is
_PLAIN = ("is_null", "is_boolean", "is_integer", "is_floating", "is_string")  # by name: PyArrow loads at first use


def _plain(kind: pa.DataType) -> bool:
    return any(getattr(pa.types, test)(kind) for test in _PLAIN)


def _documents(texts: Sequence[str]) -> pd.DataFrame:
    """JSON objects (one per response) as columns; a list of codes becomes a 1/missing column per code,
    a roster (a list of rows) its number of rows."""
    try:
        table = pyarrow_json.read_json(pa.py_buffer("\n".join(texts).encode()))
    except pa.ArrowException:  # a value whose type changes between responses, a number too big, ...
        return _documents_python(texts)
    if table.num_rows != len(texts) or not all(
            _plain(f.type) or (pa.types.is_list(f.type) and _plain(f.type.value_type)) for f in table.schema):
        return _documents_python(texts)
    index = pd.RangeIndex(len(texts))
    columns: dict[str, pd.Series] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not pa.types.is_list(column.type):
            values = column.to_pandas().set_axis(index) if column.null_count < len(column) \
                else pd.Series(np.nan, index=index)
            columns[name] = values.where(values.notna(), np.nan) if values.dtype == object else values
            continue
        column = column.combine_chunks()
        chosen, rows = pc.list_flatten(column), pc.list_parent_indices(column).to_numpy()
        valid = pc.is_valid(chosen).to_numpy(zero_copy_only=False)
        chosen, rows = chosen.filter(pa.array(valid)), rows[valid]
        for code in pc.unique(chosen).to_pylist():
            dummy = np.full(len(texts), np.nan)
            dummy[rows[pc.equal(chosen, pa.scalar(code, chosen.type)).to_numpy(zero_copy_only=False)]] = 1
            columns[f"{name}_{code}"] = pd.Series(dummy, index=index)
    return pd.DataFrame(columns, index=index)


def _documents_python(texts: Sequence[str]) -> pd.DataFrame:
    """:func:`_documents` by the standard library, for what Arrow's JSON reader cannot type."""
    frame = pd.DataFrame.from_records(json.loads("[" + ",".join(texts) + "]"), index=range(len(texts)))
    columns: dict[str, pd.Series] = {}
    for name, column in frame.items():
        is_list = np.fromiter((type(v) is list for v in column.to_numpy()), bool, len(column)) \
            if column.dtype == object else None
        if is_list is None or not is_list.any():  # missing as NaN, as from Arrow
            columns[name] = pd.Series(np.nan, index=frame.index) if column.isna().all() else \
                column.where(column.notna(), np.nan) if column.dtype == object else column
            continue
        chosen = column[is_list].explode().dropna()
        if any(type(v) in (dict, list) for v in chosen.to_numpy()):  # a roster (or other nesting): its rows
            columns[name] = pd.Series([len(v) if type(v) is list else np.nan for v in column.to_numpy()],
                                      index=frame.index, dtype="float64")
            continue
        if (~is_list & column.notna().to_numpy()).any():
            columns[name] = column.where(~is_list)
        for code in pd.unique(chosen.to_numpy()):
            dummy = np.full(len(column), np.nan)
            dummy[chosen.index[(chosen == code).to_numpy()]] = 1
            columns[f"{name}_{code}"] = pd.Series(dummy, index=frame.index)
    return pd.DataFrame(columns, index=frame.index)


def _frame(rows: Sequence[tuple], version: int) -> pd.DataFrame:
    (ids, wards, channels, languages, submitted, strata, psus, weights, revisions, answers, scores) = \
        zip(*rows, strict=True)
    ids, strata, psus = pd.Series(ids), pd.Series(strata, dtype=object), pd.Series(psus, dtype=object)
    design = pd.DataFrame({
        "response_id": ids, "survey_version": version, "ward_code": wards, "channel": channels,
        "language": languages, "submitted_at": _moments(submitted),
        "stratum": strata.where(strata.notna(), pd.Series(wards, dtype=object).map(str)).infer_objects(),
        "psu": psus.where(psus.notna(), "r" + ids.astype(str)).infer_objects(),
        "weight": weights,
        "edited": (np.asarray(revisions, dtype="int64") > 0).astype("int64"),  # corrected by staff after arrival
        # drawn from the frame (a stored PSU) or self-selected (QR poster, link, an unsampled interview)
        "stream": np.where(psus.notna(), PROBABILITY, NONPROBABILITY),
    })
    answered, derived = _documents(answers), _documents(scores)
    answered = answered.drop(columns=[c for c in answered.columns if c in derived.columns or c in design.columns])
    return _derive(pd.concat([design, answered, derived.drop(columns=[c for c in derived.columns
                                                                      if c in design.columns])], axis=1))


def _moments(submitted: Sequence) -> pd.Series:
    """Arrival times in UTC: the driver's datetimes (PostgreSQL) converted by Arrow, many times faster than
    pandas; text (SQLite) parsed by pandas."""
    try:
        moments = pa.array(submitted)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        moments = None
    if moments is not None and pa.types.is_timestamp(moments.type):
        return pd.Series(moments.cast(pa.timestamp("us", "UTC")).to_pandas())
    return pd.to_datetime(pd.Series(submitted), utc=True, format="ISO8601")


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    if "birth_year" in frame.columns:
        year = pd.to_datetime(frame["submitted_at"], utc=True).dt.year
        frame["age_band"] = age_band(year - pd.to_numeric(frame["birth_year"], errors="coerce")).to_numpy()
    division = pd.to_numeric(frame["ward_code"], errors="coerce").map(division_types())
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


def _rows(session: Session, version_id: int, chunk_size: int) -> Iterator[Sequence[tuple]]:
    """The rows of :func:`_query` in chunks (:func:`driver_rows`)."""
    return driver_rows(session, _query(version_id), chunk_size)


def driver_rows(session: Session, query, chunk_size: int) -> Iterator[Sequence[tuple]]:
    """The rows of ``query`` in chunks, as the driver gives them: SQLAlchemy's per-row conversions
    (ORM rows, the timestamp parsed one by one on SQLite) would cost more than the rest of the read."""
    connection = session.connection()
    compiled = query.compile(dialect=connection.dialect)
    params = tuple(compiled.params[name] for name in compiled.positiontup) if compiled.positional \
        else compiled.params
    result = connection.exec_driver_sql(str(compiled), params, execution_options={"yield_per": chunk_size})
    yield from result.partitions(chunk_size)


def iter_frames(session: Session, slug: str, chunk_size: int = 10000) -> Iterator[pd.DataFrame]:
    """The responses to ``slug`` as DataFrames of at most ``chunk_size`` rows: version by version, and
    oldest first within a version. The next chunk is decoded in a second thread while the caller works
    on this one (Arrow and SQLite release the GIL, so this uses both cores)."""
    fetched = ((rows, version) for version_id, version in survey_versions(session, slug)
               for rows in _rows(session, version_id, chunk_size))
    yield from one_ahead(lambda job: decode_rows(*job), fetched, "khaosat-decode")


def one_ahead(work: Callable[[Any], Any], items: Iterable, name: str) -> Iterator:
    """``work(item)`` of each item, in order, each done in a second thread (named ``name``) while the caller
    makes the next item and uses the result before: work that runs in Arrow or a driver without the GIL
    overlaps with the caller's."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as worker:
        ahead = None
        for item in items:
            doing = worker.submit(work, item)
            if ahead is not None:
                yield ahead.result()
            ahead = doing
        if ahead is not None:
            yield ahead.result()


def decode_rows(rows: Sequence[tuple], version: int) -> pd.DataFrame:
    """Driver rows of one version (the columns of :func:`_query`, in its order) as the table
    :func:`iter_frames` gives; the cyclic collector is paused meanwhile (:func:`_collection_paused`)."""
    with _collection_paused():
        return _frame(rows, version)


def responses_frame(session: Session, slug: str, on_chunk: Callable[[int], None] | None = None) -> pd.DataFrame:
    """All responses to every version of survey ``slug``, pooled by question name (``on_chunk(rows)`` hears of
    each chunk read: a background run's progress)."""
    frames = []
    for frame in iter_frames(session, slug):
        frames.append(frame)
        if on_chunk is not None:
            on_chunk(len(frame))
    if not frames:
        return pd.DataFrame(columns=DESIGN_COLUMNS)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def roster_frame(session: Session, slug: str, roster: str) -> pd.DataFrame:
    """The rows of roster (repeat) ``roster`` in the same responses as :func:`iter_frames`, one row per
    roster row: ``response_id``, ``row`` (from 1) and its answers (a multiple choice as 0/1 columns per
    code, as in the main table). Rosters are small, so this reads them with the standard library."""
    records = []
    for version_id, _ in survey_versions(session, slug):
        answers = session.exec(select(Response.id, Response.answers).where(kept_responses(version_id))
                               .order_by(Response.id)).all()
        for response_id, values in answers:
            rows = (values or {}).get(roster)
            for number, row in enumerate(rows if isinstance(rows, list) else [], start=1):
                record = {"response_id": response_id, "row": number}
                for name, value in (row.items() if isinstance(row, dict) else ()):
                    if isinstance(value, list):
                        record.update({f"{name}_{code}": 1 for code in value})
                    else:
                        record[name] = value
                records.append(record)
    return pd.DataFrame.from_records(records, columns=None if records else ["response_id", "row"])
