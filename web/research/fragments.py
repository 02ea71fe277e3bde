"""The full microdata CSV from rows rendered once per response (``response_csv``), not decoded and formatted at
every download.

A response's row of the full file is the same at every download except its final weight, which changes with
each weighting run. So the row is kept as two byte strings, the cells before the weight and those after it
(:class:`web.models.ResponseCsv`), with the weighting cell's key (stream, sex, age band; the ward and base
weight are the response's own columns); the file is then the header and, per response, ``head + weight +
tail``, the weight joined from the served cells (:mod:`web.research.weight_cells`) a chunk at a time. That
costs a few µs a row where decoding the JSON answers and formatting ~160 cells costs ~40.

The bytes are those of :func:`web.research.exports.csv_stream` of the rows :func:`web.research.downloads.release`
makes: a row with no kept bytes, or bytes of another layout (``stamp``: the codebook's variables, the ward
names, the time zone months are counted in), is made by that same code in the export itself and written
back. A trigger on ``responses`` (migration 0024) clears a row's bytes and counts ``edits`` whenever the
response's exported content changes (a correction, an area migration, an erasure, any SQL), and a row is
written back only if ``edits`` is still what the export read, so a change made during an export is never
overwritten with the older bytes. Correctness never depends on the rows being there: without them the
export is the present one, a little slower (it also writes them). The protected tiers, which blank and
recode cells per file, never use them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, Text, case, cast, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import pyarrow as pa
from analysis.lazy import pyarrow_compute as pc
from surveys import areas
from web.i18n import local_zone
from web.models import Response, ResponseCsv
from web.research import exports, weight_cells
from web.research.codebook import Variable
from web.tables import decode_rows, driver_rows, kept_responses, survey_versions

log = logging.getLogger(__name__)

#: the version of how rows are rendered here: changing the code that makes a row's bytes changes this
FORMAT = 1
_KEPT = ("stamp", "head", "tail", "stream", "sex", "age_band")


def layout_stamp(spec: list[Variable], ward_names: dict[int, str]) -> str:
    """What a row's bytes depend on besides the response itself: the file's variables (names, types, codes),
    the ward names, the time zone of ``submitted_month``, the code list, and :data:`FORMAT`."""
    made = repr((FORMAT, [dataclasses.astuple(v) for v in spec], sorted(ward_names.items()), local_zone().key,
                 areas.CODE_LIST))
    return hashlib.sha256(made.encode()).hexdigest()[:32]


def _query(version_id: int, stamp: str, stale_only: bool = False):
    """One version's kept responses in order, with their kept bytes; the answers only where those are missing
    or of another layout (the database then ships ~0.5 KB a row, not the JSON as well). ``stale_only``: only
    the responses whose bytes are missing or of another layout."""
    r, f = Response.__table__, ResponseCsv.__table__
    if stale_only:
        return _query(version_id, stamp).where(or_(f.c.stamp.is_(None), f.c.stamp != stamp))
    fresh = f.c.stamp == stamp

    def unless_fresh(column):
        return case((fresh, None), else_=column)

    return (select(r.c.id, r.c.ward_code, r.c.base_weight, f.c.edits, fresh, f.c.head, f.c.tail, f.c.stream, f.c.sex,
                   f.c.age_band, *(unless_fresh(c) for c in (r.c.channel, r.c.language, r.c.submitted_at, r.c.stratum,
                                                             r.c.psu, r.c.revision, cast(r.c.answers, Text),
                                                             cast(r.c.scores, Text))))
            .select_from(r.outerjoin(f, f.c.response_id == r.c.id)).where(kept_responses(version_id)).order_by(r.c.id))


@dataclass
class Layout:
    """What every chunk of one file shares."""

    spec: list[Variable]
    ward_names: dict[int, str]
    cells: weight_cells.Cells | None  #: None: rows are only made and kept (:func:`backfill`)
    stamp: str
    primary: Engine | None  #: where rows made by the export are written back (None: not written)

    @property
    def weight_at(self) -> int:
        return [v.name for v in self.spec].index("weight")


def csv_stream(session: Session, slug: str, layout: Layout, chunk_rows: int = 10000,
               on_chunk: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The full file of ``slug`` as :func:`web.research.exports.csv_stream` writes it, from the kept rows."""
    yield "\ufeff".encode()
    yield (",".join(v.name for v in layout.spec) + "\r\n").encode()
    fetched = ((rows, version) for version_id, version in survey_versions(session, slug)
               for rows in driver_rows(session, _query(version_id, layout.stamp), chunk_rows))
    weights = _WeightTexts(layout.cells)
    for rows, version in fetched:  # in this thread: its work holds the GIL, and rows made need the app's time zone
        block, count = _chunk(rows, version, layout, weights)
        yield block
        if on_chunk is not None:
            on_chunk(count)


def backfill(session: Session, slug: str, layout: Layout, chunk_rows: int = 10000,
             on_chunk: Callable[[int], None] | None = None) -> int:
    """Make and keep the bytes of every response of ``slug`` that has none of this layout (the background
    work after a weighting run, so that the next download only joins them); how many were made."""
    made = 0
    for version_id, version in survey_versions(session, slug):
        for rows in driver_rows(session, _query(version_id, layout.stamp, stale_only=True), chunk_rows):
            kept = _render(rows, version, layout)
            if isinstance(kept, dict):
                _write_back(layout, _records(rows, range(len(rows)), kept, layout.stamp))
            made += len(rows)
            if on_chunk is not None:
                on_chunk(len(rows))
    return made


def _chunk(rows: Sequence[tuple], version: int, layout: Layout, weights: _WeightTexts) -> tuple[bytes, int]:
    """One chunk's rows of the file, and how many."""
    heads, tails = [row[5] for row in rows], [row[6] for row in rows]
    keys = [(row[7], -1 if row[1] is None else row[1], row[8], row[9], row[2]) for row in rows]
    stale = [i for i, row in enumerate(rows) if not row[4] or row[5] is None]
    whole: list[int] = []  #: rows written whole by the present path (their weight in them)
    if stale:
        made = _render([rows[i] for i in stale], version, layout)
        if isinstance(made, list):  # cells Arrow cannot write: pandas' writer, row by row, nothing kept
            for k, i in enumerate(stale):
                heads[i], tails[i] = made[k], b""
            whole = stale
        else:
            for k, i in enumerate(stale):
                heads[i], tails[i] = made["head"][k], made["tail"][k]
                keys[i] = (made["stream"][k], keys[i][1], made["sex"][k], made["age_band"][k], keys[i][4])
            _write_back(layout, _records(rows, stale, made, layout.stamp))
    texts = weights.of([row[0] for row in rows], keys)
    for i in whole:
        texts[i] = b""
    return b"".join(itertools.chain.from_iterable(zip(heads, texts, tails, strict=True))), len(rows)


def _records(rows: Sequence[tuple], which: Sequence[int], made: dict[str, list], stamp: str) -> list[dict]:
    """The rows of ``response_csv`` for ``rows[i]`` of each ``i`` in ``which`` (``made[...][k]`` the k-th)."""
    return [dict(response_id=rows[i][0], edits=rows[i][3] or 0, stamp=stamp,
                 **{name: made[name][k] for name in _KEPT[1:]}) for k, i in enumerate(which)]


class _WeightTexts:
    """The final weight of a row as the file writes it (:meth:`web.research.weight_cells.Cells.lookup`), each
    weight's text made once."""

    def __init__(self, cells: weight_cells.Cells) -> None:
        self.weight = cells.lookup()
        self.texts: dict[float, bytes] = {}

    def of(self, ids: list[int], keys: list[tuple]) -> list[bytes]:
        weights = [self.weight(response_id, key) for response_id, key in zip(ids, keys, strict=True)]
        self._add([w for w in weights if w is not None and w not in self.texts])
        return [b"" if weight is None else self.texts[weight] for weight in weights]

    def _add(self, weights: list[float]) -> None:
        """The texts of new weights, all made in one call: after raking nearly every row's weight is its own,
        and a call per weight (a dozen Arrow kernels on one number) cost more than the rest of the chunk."""
        if weights:
            new = list(dict.fromkeys(weights))
            self.texts.update(zip(new, (text.encode() for text in exports.float_texts(np.array(new)).to_pylist()),
                                  strict=True))


def _present_frame(rows: Sequence[tuple], version: int) -> pd.DataFrame:
    """Rows of :func:`_query` as :func:`web.tables.iter_frames` decodes them."""
    return decode_rows([(r[0], r[1], r[10], r[11], r[12], r[13], r[14], r[2], r[15], r[16], r[17]) for r in rows],
                       version)


def _render(rows: Sequence[tuple], version: int, layout: Layout) -> dict[str, list] | list[bytes]:
    """The kept bytes of each row (``head``, ``tail``) and its cell key, made by the present path's code; when
    a cell needs pandas' writer (as :func:`web.research.exports.csv_rows` then does), each row whole instead,
    its weight in it, to be written and not kept."""
    frame = _present_frame(rows, version)
    shaped = exports.shape(frame, layout.spec, pd.Series(np.nan, index=frame.index), layout.ward_names)
    fields = exports.csv_fields(shaped, neutralised=True)
    if any(field is None for field in fields):
        if layout.cells is None:  # only keeping rows: nothing to keep
            return []
        shaped["weight"] = layout.cells.weights(frame)
        return [exports.csv_rows(shaped.iloc[[k]], neutralised=True) for k in range(len(shaped))]
    at = layout.weight_at
    heads = [line + b"," for line in _joined(fields[:at])] if at else [b""] * len(frame)
    tails = [b"," + line + b"\r\n" for line in _joined(fields[at + 1:])] if at + 1 < len(fields) \
        else [b"\r\n"] * len(frame)
    keys = weight_cells.cell_keys(frame, "weight")
    return {"head": heads, "tail": tails, "stream": keys["stream"].tolist(), "sex": keys["sex"].tolist(),
            "age_band": keys["age_band"].tolist()}


def _joined(fields: list[pa.Array]) -> list[bytes]:
    """Each row's cells of ``fields`` joined by commas."""
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    return [line.encode() for line in lines.to_pylist()]


def _write_back(layout: Layout, records: list[dict]) -> None:
    """Keep rows made by an export, each only if its response did not change since it was read (``edits``)."""
    if layout.primary is None or not records:
        return
    table = ResponseCsv.__table__
    insert = (postgresql.insert if layout.primary.dialect.name == "postgresql" else sqlite.insert)(table)
    statement = insert.on_conflict_do_update(index_elements=[table.c.response_id],
                                             set_={name: insert.excluded[name] for name in _KEPT},
                                             where=table.c.edits == insert.excluded.edits)
    try:
        with layout.primary.begin() as conn:
            conn.execute(statement, records)
    except SQLAlchemyError as problem:  # a locked or read-only database: the file is right without them
        log.warning("CSV rows not kept: %s", problem)
