"""De-identified microdata and result tables as CSV, XLSX, SPSS, Stata and Parquet.

CSV is a generator of chunks (UTF-8 with a BOM, so Excel reads Vietnamese), written by hand from Arrow
arrays rather than by pandas' ``to_csv`` (which formats every cell in Python, many times slower) or Arrow's
CSV writer (which quotes every text and writes exponents unlike Python and the csv module): each
distinct value of a column (a handful of codes) is formatted and quoted once and its text repeated, and
a chunk is written in a second thread while the next one is read and shaped. XLSX (xlsxwriter in
constant-memory mode) and Parquet (pyarrow, one row group per chunk) are written chunk by chunk
to a temporary file that is then streamed. SPSS and Stata files are written by pyreadstat from
the whole table (readstat has no append), also through a temporary file. In CSV and XLSX a text
cell that starts with = + - @, a tab or a carriage return gets a leading apostrophe, so a
spreadsheet never runs it as a formula.

Types and labels: a variable the codebook marks ``integer`` (ids, codes, counts) is written as a whole
number everywhere: CSV "70" (every whole number is written without ".0"), Parquet int64, Stata long,
SPSS F8.0. SPSS and Stata carry variable and value labels in the chosen language; Parquet carries both
languages in each field's metadata and the codebook in the file's metadata. A roster's rows are a table
of their own (:func:`shape_roster`); :func:`zip_file` puts several tables in one download. ``meta`` (e.g.
the synthetic-demo notice) goes into each format's own metadata.

Names: CSV, XLSX and Parquet keep every variable's own name. SPSS and Stata take only letters, digits and
'_' (SPSS: starting with a letter), so a name with '-' (legal in XLSForm, ``kobo-date_time``) is written
with '_' instead (``kobo_date_time``), with a 'v' before it where SPSS needs a letter first, and '_2',
'_3' ... after it where that name is already taken; its variable label starts with the original name
(``kobo-date_time: Date the phone was bought``); a name longer than Stata's 32 characters (SPSS: 64) is cut
to its start plus six letters of its SHA-1, the same every time, its label starting with the full name.
See :func:`stats_names`. Every file carries the province (``province_code``, ``province``) beside the ward.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import pyarrow as pa
from analysis.lazy import pyarrow_compute as pc
from surveys import areas
from surveys.questions import kind
from web import jobs
from web.i18n import local_zone
from web.research.codebook import Variable
from web.tables import one_ahead

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[=+\\-@\t\r]"  #: the same starts, as a regular expression
CHUNK = 64 * 1024


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _formula_cells(column: pd.Series) -> np.ndarray | None:
    """Which cells of ``column`` are text that a spreadsheet would run as a formula (None: no text at all)."""
    if pd.api.types.is_numeric_dtype(column):
        return None
    try:
        starts = column.str.startswith(FORMULA_START, na=False)
    except AttributeError:  # neither text nor a mixed column with text in it
        return None
    return starts.to_numpy(dtype=bool, na_value=False)


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a leading apostrophe on every text cell that :func:`neutralise` would change."""
    columns = []
    for _, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype):  # the categories, not every cell
            column = column.map(neutralise)
        elif (formula := _formula_cells(column)) is not None and formula.any():
            column = column.where(~formula, "'" + column[formula].astype(str))
        columns.append(column)
    out = pd.DataFrame(dict(enumerate(columns)), index=frame.index)
    out.columns = frame.columns
    return out


def _numbers(column: pd.Series) -> pd.Series:
    """Numbers as float64: true/false as 1/0, anything that is not a number missing."""
    if column.dtype == np.float64:
        return column
    if isinstance(column.dtype, pd.StringDtype):  # codes such as "1": Arrow parses them many times faster
        try:
            return pd.Series(pc.cast(pa.array(column, pa.string(), from_pandas=True), pa.float64())
                             .to_numpy(zero_copy_only=False), index=column.index, dtype="float64")
        except pa.ArrowInvalid:  # some text is not a number: pandas makes it missing
            pass
    return pd.to_numeric(column, errors="coerce").astype("float64")


def _texts(column: pd.Series) -> pd.Series:
    """Each value as its text (a number as Python prints it), missing values as None (or NaN in a
    column that is text already)."""
    if isinstance(column.dtype, pd.StringDtype) or (column.dtype == object and column.isna().all()):
        return column
    return column.astype(str).astype(object).where(column.notna(), None).infer_objects()


def _months(submitted_at: pd.Series) -> pd.Series:
    """The month each response arrived on the survey's clock (KHAOSAT_TIMEZONE), not UTC's."""
    moments = pd.to_datetime(submitted_at, utc=True).dt.tz_convert(local_zone().key).dt.tz_localize(None)
    return pd.Series(moments.to_numpy().astype("datetime64[M]").astype(str), index=submitted_at.index,
                     dtype=object).where(moments.notna(), None)


def shape(chunk: pd.DataFrame, spec: list[Variable], weights: pd.Series, ward_names: dict[int, str]) -> pd.DataFrame:
    """A chunk of :func:`web.tables.iter_frames` as export rows: the codebook's columns, the final weight of each
    row (``weights``, aligned with the chunk: see :meth:`web.research.weight_cells.Cells.weights`), and the
    province of each ward beside it."""
    ward_code = pd.to_numeric(chunk["ward_code"], errors="coerce")
    province = ward_code.map(_province_codes()).astype("float64")
    added = {
        "id": chunk["response_id"], "base_weight": chunk["weight"], "weight": weights,
        "ward": ward_code.map(ward_names).astype(object).where(ward_code.notna() & ward_code.isin(ward_names), ""),
        "province_code": province, "province": province.map(_province_names()).astype(object).where(
            province.notna(), ""),
        "submitted_month": _months(chunk["submitted_at"]),
    }
    return _columns(chunk, spec, added)


@cache
def _province_codes() -> dict[int, int]:
    """Each ward's province (every province's wards: a ward code is unique in the country)."""
    return {code: ward.parent_code for code, ward in areas.all_wards().items()}


@cache
def _province_names() -> dict[float, str]:
    return {float(code): name for code, name in areas.province_names().items()}


def shape_roster(frame: pd.DataFrame, spec: list[Variable]) -> pd.DataFrame:
    """A roster's rows (:func:`web.tables.roster_frame`) as export rows: the columns of ``spec``."""
    return _columns(frame, spec, {"id": frame["response_id"]} if "response_id" in frame else {})


def _columns(chunk: pd.DataFrame, spec: list[Variable], added: dict[str, pd.Series]) -> pd.DataFrame:
    """The columns of ``spec`` from ``chunk`` (or ``added``): numbers as float64, text as text, a choice
    not chosen as 0, a variable nobody answered as missing."""
    out: dict[str, pd.Series] = {}
    for v in spec:
        if v.name in added:
            column = added[v.name]
        elif v.name in chunk and v.name not in ("response_id", "weight"):
            column = chunk[v.name]
        else:  # not asked in this chunk's responses
            column = pd.Series(np.nan if v.kind == "num" else None, index=chunk.index,
                               dtype="float64" if v.kind == "num" else object)
        if kind(v.question_type).many_codes:  # a choice not chosen
            column = column.fillna(0)
        out[v.name] = _numbers(column) if v.kind == "num" else _texts(column)
    return pd.DataFrame(out, index=chunk.index)


_SMALL_WHOLE = 10_000  #: how many whole numbers :func:`_small_whole` holds the texts of


@cache
def _small_whole() -> pa.Array:
    """The texts of the whole numbers most cells hold (codes, counts, scores, years), looked up, not formatted;
    made at the first file rather than at import, so that a process that writes none never loads PyArrow."""
    return pa.array([str(i) for i in range(_SMALL_WHOLE)])


def float_texts(values: np.ndarray) -> pa.Array:
    """Numbers as R and Stata write them: a whole number without a decimal point (1, 70, 2026), others as
    Python writes them (``repr``: 0.1, 1e-05); missing values as nulls. Each distinct number (by its bits,
    so 0.0 and -0.0 apart) is written once and its text repeated: a column of codes holds a handful."""
    distinct = pc.dictionary_encode(pa.array(np.ascontiguousarray(values, np.float64).view(np.int64)))
    return _distinct_float_texts(distinct.dictionary.to_numpy().view(np.float64)).take(distinct.indices)


def _distinct_float_texts(values: np.ndarray) -> pa.Array:
    """:func:`float_texts` of each number given."""
    missing = np.isnan(values)
    whole = ~missing & (np.abs(values) < 1e15) & (values == np.trunc(values)) & ~(np.signbit(values) & (values == 0))
    small = whole & (values >= 0) & (values < _SMALL_WHOLE)
    text = _small_whole().take(pa.array(np.where(small, values, 0).astype(np.int32), mask=~small))
    if (large := whole & ~small).any():  # other whole numbers print as integers, many times faster than floats
        text = pc.replace_with_mask(text, pa.array(large), pc.cast(pa.array(values[large].astype(np.int64)),
                                                                   pa.string()))
    if (fraction := ~whole & ~missing).any():
        text = pc.replace_with_mask(text, pa.array(fraction), _fraction_texts(values[fraction]))
    return text


def _fraction_texts(values: np.ndarray) -> pa.Array:
    """:func:`float_texts` of numbers that are not whole (or very large, small or negative zero)."""
    text = pc.cast(pa.array(values, pa.float64()), pa.string())
    size = np.abs(values)
    plain = (((size >= 1e-4) & (size < 1e16)) | (values == 0)) & ~_matches(text, "e")
    text = pc.if_else(pa.array(plain & ~_matches(text, ".")), pc.binary_join_element_wise(text, ".0", ""), text)
    exponent = np.flatnonzero(~plain)  # Python's and Arrow's exponent forms differ
    if len(exponent):
        texts = text.to_numpy(zero_copy_only=False).astype(object)
        texts[exponent] = [repr(float(x)) for x in values[exponent]]
        text = pa.array(texts, pa.string())
    return text


def _matches(text: pa.Array, substring: str) -> np.ndarray:
    return pc.match_substring(text, substring).fill_null(False).to_numpy(zero_copy_only=False)


def _csv_field(column: pd.Series, neutralised: bool = False) -> pa.Array | None:
    """A column's CSV cells, quoted as the csv module quotes them (``neutralised``: with a leading apostrophe
    where :func:`neutralise` puts one); None for a column of another type."""
    if column.dtype == np.float64:
        return float_texts(column.to_numpy())
    if column.dtype != object and not isinstance(column.dtype, pd.StringDtype):
        return None
    try:
        text = pa.array(column, pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(text, pa.ChunkedArray):  # a column of pandas' Arrow-backed text
        text = text.combine_chunks()
    distinct = pc.dictionary_encode(text)  # a column of answers holds a handful of texts: each is quoted once
    text = distinct.dictionary
    if neutralised:
        text = pc.if_else(pc.match_substring_regex(text, FORMULA_PATTERN), pc.binary_join_element_wise("'", text, ""),
                          text)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(pc.match_substring_regex(text, '[,"\r\n]'), quoted, text).take(distinct.indices)


def csv_fields(frame: pd.DataFrame, neutralised: bool = False) -> list[pa.Array | None]:
    """The CSV cells of each column (:func:`_csv_field`), those of all the columns of numbers made at once."""
    numeric = [i for i, dtype in enumerate(frame.dtypes) if dtype == np.float64]
    fields: list[pa.Array | None] = [None] * frame.shape[1]
    if numeric:
        texts = float_texts(np.concatenate([frame.iloc[:, i].to_numpy() for i in numeric]))
        for k, i in enumerate(numeric):
            fields[i] = texts.slice(k * len(frame), len(frame))
    for i, (_, column) in enumerate(frame.items()):
        if fields[i] is None:
            fields[i] = _csv_field(column, neutralised)
    return fields


def csv_rows(frame: pd.DataFrame, neutralised: bool = False) -> bytes:
    """The rows of ``frame`` as ``frame.to_csv(index=False, header=False, lineterminator="\r\n")`` writes
    them, except that a whole number has no ".0" (as R's ``write.csv`` and Stata write it, so codes and
    ids read as integers); columns of numbers and text are formatted column-wise by Arrow, which is many
    times faster (all the columns of numbers at once, as one array). ``neutralised``: the rows of
    :func:`neutralise_frame` of ``frame`` (the apostrophes put in the same Arrow pass)."""
    fields = csv_fields(frame, neutralised) if frame.shape[1] > 1 else [None]
    if any(field is None for field in fields):
        frame = neutralise_frame(frame) if neutralised else frame
        return frame.to_csv(index=False, header=False, lineterminator="\r\n").encode()
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    lines = pc.binary_join_element_wise(lines, "\r\n", "")
    return b"".join(_utf8(chunk) for chunk in (lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]))


def _utf8(texts: pa.Array) -> bytes:
    """The texts of an Arrow string array without nulls, back to back (read from its buffers, no copy per text)."""
    if not len(texts):
        return b""
    _, offsets, data = texts.buffers()
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    first, last = np.frombuffer(offsets, width)[[texts.offset, texts.offset + len(texts)]]
    return data.slice(first, last - first).to_pybytes()


def csv_stream(frames: Iterable[pd.DataFrame], columns: list[str]) -> Iterator[bytes]:
    """The header and the rows of ``frames`` (:func:`csv_rows`, formulas neutralised). Each frame's rows are
    written in a second thread while the next frame is made (Arrow releases the GIL, so both cores work)."""
    yield "\ufeff".encode()
    yield (",".join(columns) + "\r\n").encode()
    yield from one_ahead(lambda frame: csv_rows(frame, neutralised=True), frames, "khaosat-csv")


def file_stream(path: str) -> Iterator[bytes]:
    """Stream a temporary file and remove it afterwards."""
    try:
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                yield block
    finally:
        os.unlink(path)


def _temp(suffix: str) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix, prefix="khaosat-", dir=jobs.WORK_DIR.get())
    os.close(handle)
    return path


def codebook_frame(spec: list[Variable]) -> pd.DataFrame:
    rows = []
    for v in spec:
        rows.append({
            "variable": v.name, "type": v.question_type or ("number" if v.kind == "num" else "text"),
            "label_vi": v.label["vi"], "label_en": v.label["en"],
            "codes": "; ".join(c for c, _ in v.codes),
            "labels_vi": "; ".join(f"{c} = {lab['vi']}" for c, lab in v.codes),
            "labels_en": "; ".join(f"{c} = {lab['en']}" for c, lab in v.codes),
            "spss_stata_codes": "; ".join(f"{c} = {n}" for c, n in v.numeric_codes.items())
            if v.kind == "str" and v.numeric_codes else "",
            "relevant_if": v.relevant, "derivation": v.derivation,
        })
    return pd.DataFrame(rows)


def xlsx_file(frames: Iterable[pd.DataFrame], columns: list[str], sheets: dict[str, pd.DataFrame],
              data_sheet: str = "data", meta: dict[str, str] | None = None) -> str:
    """Write the rows (and extra whole sheets, e.g. the codebook, a roster) to a temporary .xlsx; its path.
    ``meta`` goes into the document properties (title, comments)."""
    import xlsxwriter

    path = _temp(".xlsx")
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                      "strings_to_urls": False, "strings_to_numbers": False,
                                      "nan_inf_to_errors": False})
    if meta:
        book.set_properties({"title": meta.get("title", ""), "comments": _meta_text(meta),
                             "keywords": meta.get("synthetic", "")})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(data_sheet)
    sheet.write_row(0, 0, columns, bold)
    row = 1
    for frame in frames:
        row = _write_cells(sheet, neutralise_frame(frame), row)
    for name, table in sheets.items():
        extra = book.add_worksheet(name[:31])
        extra.write_row(0, 0, list(table.columns), bold)
        _write_cells(extra, neutralise_frame(table), 1)
    book.close()
    return path


def _meta_text(meta: dict[str, str]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in meta.items())


def _write_cells(sheet, frame: pd.DataFrame, first_row: int) -> int:
    """Write ``frame``'s cells row by row (constant-memory mode), leaving missing ones blank, numbers
    and text by their own writers (10-25% faster than ``write_row``); the next free row."""
    columns = []
    for j, (_, column) in enumerate(frame.items()):
        write = sheet.write_number if column.dtype == np.float64 else sheet.write_string \
            if pd.api.types.infer_dtype(column, skipna=True) == "string" else sheet.write
        columns.append((j, write, column.astype(object).where(column.notna(), None).tolist()))
    for i in range(len(frame)):
        for j, write, values in columns:
            if (value := values[i]) is not None:
                write(first_row + i, j, value)
    return first_row + len(frame)


def _arrow_type(v: Variable) -> pa.DataType:
    return pa.string() if v.kind == "str" else pa.int64() if v.integer else pa.float64()


def _arrow_field(v: Variable) -> pa.Field:
    """A column with its labels in the field metadata: ``label_vi``, ``label_en`` and, for a coded
    variable, ``value_labels`` (JSON ``{code: {"vi": ..., "en": ...}}``), as R's ``haven`` keeps them."""
    meta = {f"label_{lang}": text for lang, text in v.label.items()}
    if v.codes:
        meta["value_labels"] = json.dumps({code: labels for code, labels in v.codes}, ensure_ascii=False)
    return pa.field(v.name, _arrow_type(v), metadata=meta)


def _arrow_column(column: pd.Series, v: Variable) -> pa.Array:
    if v.kind == "str":
        return pa.array(column, pa.string(), from_pandas=True)
    values = column.to_numpy(dtype="float64")
    missing = np.isnan(values)
    if not v.integer:
        return pa.array(values, pa.float64(), mask=missing)
    return pa.array(np.where(missing, 0, values).astype(np.int64), pa.int64(), mask=missing)


def parquet_file(frames: Iterable[pd.DataFrame], spec: list[Variable], meta: dict[str, str] | None = None) -> str:
    """Parquet with integer types for ids and codes, each column's labels in its field metadata, and the
    whole codebook (JSON, ``khaosat.codebook``) and ``meta`` in the file's metadata."""
    import pyarrow.parquet as pq

    file_meta = {"khaosat.codebook": codebook_frame(spec).to_json(orient="records", force_ascii=False),
                 **{f"khaosat.{key}": value for key, value in (meta or {}).items()}}
    schema = pa.schema([_arrow_field(v) for v in spec], metadata=file_meta)
    path = _temp(".parquet")
    with pq.ParquetWriter(path, schema) as writer:
        for frame in frames:
            writer.write_table(pa.Table.from_arrays([_arrow_column(frame[v.name], v) for v in spec], schema=schema))
    return path


def _integers(column: pd.Series) -> pd.Series:
    """Whole numbers as a nullable 32-bit integer column (Stata long, SPSS F.0); others unchanged."""
    values = column.to_numpy(dtype="float64")
    known = values[~np.isnan(values)]
    if len(known) and not (np.all(known == np.trunc(known)) and np.abs(known).max() < 2**31 - 1):
        return column
    return pd.Series(pd.array(np.where(np.isnan(values), 0, values).astype(np.int64), dtype="Int32"),
                     index=column.index).mask(np.isnan(values))


STATS_NAME = {"sav": re.compile(r"[A-Za-z][A-Za-z0-9_]*"), "dta": re.compile(r"[A-Za-z_][A-Za-z0-9_]*")}
#: the longest variable name each format takes (Stata 32 characters, SPSS 64 bytes)
STATS_LENGTH = {"sav": 64, "dta": 32}


def stats_names(columns: list[str], fmt: str) -> dict[str, str]:
    """Each column's name in an SPSS (``sav``) or Stata (``dta``) file: its own where the format takes
    it; else '-' (and any other character the format refuses) as '_', a 'v' first where SPSS needs a
    letter, a name longer than the format takes cut to its first characters and '_' with six letters
    of the full name's SHA-1 (the same name always gives the same short one), and '_2', '_3' ... where
    the name is taken by another column."""
    legal, length = STATS_NAME[fmt], STATS_LENGTH[fmt]
    taken = {c for c in columns if legal.fullmatch(c) and len(c) <= length}
    out = {}
    for column in columns:
        if column in taken:
            out[column] = column
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", column)
        base = base if legal.fullmatch(base) else f"v{base}"
        if len(base) > length:
            base = f"{base[:length - 7]}_{hashlib.sha1(column.encode()).hexdigest()[:6]}"
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base[:length - len(str(number)) - 1]}_{number}"
        taken.add(name)
        out[column] = name
    return out


def _legal_names(frame: pd.DataFrame, variable_labels: dict[str, str], value_labels: dict[str, dict], fmt: str):
    """The frame with :func:`stats_names`, its variable labels in column order (a renamed variable's
    starting with its own name), and its value labels by the new names."""
    names = stats_names(list(frame.columns), fmt)
    labels = [variable_labels[c] if names[c] == c else f"{c}: {variable_labels[c]}"[:80 if fmt == "dta" else None]
              for c in frame.columns]
    return frame.rename(columns=names), labels, {names[k]: v for k, v in value_labels.items()}


def stats_file(frames: Iterable[pd.DataFrame], spec: list[Variable], fmt: str, lang: str,
               meta: dict[str, str] | None = None) -> str:
    """SPSS (.sav) or Stata (.dta) with variable and value labels in ``lang``; coded text becomes numbers,
    ids and codes integers; ``meta`` goes into the file label and (SPSS) the notes."""
    import pyreadstat

    parts = list(frames)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {v.name: pd.Series(dtype="float64" if v.kind == "num" else "object") for v in spec})
    value_labels, variable_labels = {}, {}
    for v in spec:
        label = v.label[lang]
        variable_labels[v.name] = label[:80] if fmt == "dta" else label
        if v.kind == "num":  # an empty or all-missing column must still carry its declared type
            frame[v.name] = pd.to_numeric(frame[v.name], errors="coerce").astype("float64")
        if v.codes:
            if v.kind == "str":
                frame[v.name] = frame[v.name].map(v.numeric_codes).astype("float64")
            value_labels[v.name] = {int(v.numeric_codes.get(code, code)): lab[lang] for code, lab in v.codes
                                    if str(v.numeric_codes.get(code, code)).lstrip("-").isdigit()}
        elif v.kind == "str":
            frame[v.name] = frame[v.name].fillna("")
        if v.integer or (v.kind == "str" and v.codes):
            frame[v.name] = _integers(frame[v.name])
    path = _temp(f".{fmt}")
    file_label = (meta or {}).get("title", "")
    frame, labels, value_labels = _legal_names(frame, variable_labels, value_labels, fmt)
    if fmt == "sav":
        pyreadstat.write_sav(frame, path, file_label=file_label, column_labels=labels,
                             variable_value_labels=value_labels,
                             note=_note_lines(_meta_text(meta)) if meta else None)
    else:
        value_labels = {k: {c: lab[:244] for c, lab in labels_.items()} for k, labels_ in value_labels.items()}
        pyreadstat.write_dta(frame, path, file_label=file_label[:80], column_labels=labels,
                             variable_value_labels=value_labels, version=15)
    return path


def _note_lines(text: str, width: int = 80) -> list[str]:
    """``text`` as SPSS document lines: words wrapped so that each line is at most ``width`` UTF-8 bytes."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if len(candidate.encode()) > width and line:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return lines


def zip_file(members: dict[str, str], comment: str = "") -> str:
    """The files ``{name in the zip: temporary path}`` in a temporary .zip (the parts are removed); its path."""
    path = _temp(".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.comment = comment.encode()
        for name, part in members.items():
            archive.write(part, name)
            os.unlink(part)
    return path


def csv_file(frames: Iterable[pd.DataFrame], columns: list[str]) -> str:
    """:func:`csv_stream` written to a temporary file; its path."""
    return blocks_file(csv_stream(frames, columns), ".csv")


def blocks_file(blocks: Iterable[bytes], suffix: str) -> str:
    """``blocks`` written to a temporary file; its path."""
    path = _temp(suffix)
    with open(path, "wb") as handle:
        for block in blocks:
            handle.write(block)
    return path


def table_csv(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    neutralise_frame(table).to_csv(buffer, index=False)
    return ("\ufeff" + buffer.getvalue()).encode()


def table_xlsx(table: pd.DataFrame, sheet: str = "table", meta: dict[str, str] | None = None) -> str:
    return xlsx_file([table], list(table.columns), {}, data_sheet=sheet, meta=meta)
