"""De-identified microdata and result tables as CSV, XLSX, SPSS, Stata and Parquet.

CSV is a generator of chunks (UTF-8 with a BOM, so Excel reads Vietnamese). XLSX (xlsxwriter in
constant-memory mode) and Parquet (pyarrow, one row group per chunk) are written chunk by chunk
to a temporary file that is then streamed. SPSS and Stata files are written by pyreadstat from
the whole table (readstat has no append), also through a temporary file. In CSV and XLSX a text
cell that starts with = + - @, a tab or a carriage return gets a leading apostrophe, so a
spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from web.research.codebook import Variable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(neutralise)
    return frame


def shape(chunk: pd.DataFrame, spec: list[Variable], weights: pd.Series, ward_names: dict[int, str]) -> pd.DataFrame:
    """A chunk of :func:`web.tables.iter_frames` as export rows: the codebook's columns, final weights."""
    out: dict[str, pd.Series] = {}
    chunk = chunk.rename(columns={"response_id": "id", "weight": "base_weight"})
    chunk["weight"] = chunk["id"].map(weights)
    chunk["ward"] = chunk["ward_code"].map(lambda c: ward_names.get(int(c), "") if pd.notna(c) else "")
    chunk["submitted_month"] = pd.to_datetime(chunk["submitted_at"], utc=True).dt.strftime("%Y-%m")
    for v in spec:
        column = chunk[v.name] if v.name in chunk else pd.Series(np.nan, index=chunk.index)
        if v.question_type == "multiple":
            column = column.fillna(0)
        if v.kind == "num":
            out[v.name] = pd.to_numeric(column.map(lambda x: float(x) if isinstance(x, bool) else x),
                                        errors="coerce").astype("float64")
        else:
            out[v.name] = column.map(lambda x: None if x is None or (isinstance(x, float) and np.isnan(x)) else str(x))
    return pd.DataFrame(out, index=chunk.index)


def csv_stream(frames: Iterable[pd.DataFrame], columns: list[str]) -> Iterator[bytes]:
    yield "\ufeff".encode()
    yield (",".join(columns) + "\r\n").encode()
    for frame in frames:
        yield neutralise_frame(frame).to_csv(index=False, header=False, lineterminator="\r\n").encode()


def file_stream(path: str) -> Iterator[bytes]:
    """Stream a temporary file and remove it afterwards."""
    try:
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                yield block
    finally:
        os.unlink(path)


def _temp(suffix: str) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix, prefix="khaosat-")
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
              data_sheet: str = "data") -> str:
    """Write the rows (and extra whole sheets, e.g. the codebook) to a temporary .xlsx; its path."""
    import xlsxwriter

    path = _temp(".xlsx")
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                      "strings_to_urls": False, "strings_to_numbers": False,
                                      "nan_inf_to_errors": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(data_sheet)
    sheet.write_row(0, 0, columns, bold)
    row = 1
    for frame in frames:
        for record in neutralise_frame(frame).itertuples(index=False):
            sheet.write_row(row, 0, [None if (isinstance(x, float) and np.isnan(x)) else x for x in record])
            row += 1
    for name, table in sheets.items():
        extra = book.add_worksheet(name)
        extra.write_row(0, 0, list(table.columns), bold)
        for i, record in enumerate(neutralise_frame(table).itertuples(index=False), start=1):
            extra.write_row(i, 0, ["" if x is None or (isinstance(x, float) and np.isnan(x)) else x for x in record])
    book.close()
    return path


def parquet_file(frames: Iterable[pd.DataFrame], spec: list[Variable]) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(v.name, pa.float64() if v.kind == "num" else pa.string()) for v in spec])
    path = _temp(".parquet")
    with pq.ParquetWriter(path, schema) as writer:
        for frame in frames:
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
    return path


def stats_file(frames: Iterable[pd.DataFrame], spec: list[Variable], fmt: str, lang: str) -> str:
    """SPSS (.sav) or Stata (.dta) with variable and value labels in ``lang``; coded text becomes numbers."""
    import pyreadstat

    parts = list(frames)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {v.name: pd.Series(dtype="float64" if v.kind == "num" else "object") for v in spec})
    for v in spec:  # an empty or all-missing column must still carry its declared type
        if v.kind == "num":
            frame[v.name] = pd.to_numeric(frame[v.name], errors="coerce").astype("float64")
    value_labels, variable_labels = {}, {}
    for v in spec:
        label = v.label[lang]
        variable_labels[v.name] = label[:80] if fmt == "dta" else label
        if v.codes:
            if v.kind == "str":
                frame[v.name] = frame[v.name].map(v.numeric_codes).astype("float64")
            value_labels[v.name] = {float(v.numeric_codes.get(code, code)): lab[lang] for code, lab in v.codes
                                    if str(v.numeric_codes.get(code, code)).lstrip("-").isdigit()}
        elif v.kind == "str":
            frame[v.name] = frame[v.name].fillna("")
    path = _temp(f".{fmt}")
    if fmt == "sav":
        pyreadstat.write_sav(frame, path, column_labels=[variable_labels[c] for c in frame.columns],
                             variable_value_labels=value_labels)
    else:
        value_labels = {k: {int(c): lab[:244] for c, lab in labels.items()} for k, labels in value_labels.items()}
        pyreadstat.write_dta(frame, path, column_labels=[variable_labels[c] for c in frame.columns],
                             variable_value_labels=value_labels, version=15)
    return path


def table_csv(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    neutralise_frame(table).to_csv(buffer, index=False)
    return ("\ufeff" + buffer.getvalue()).encode()


def table_xlsx(table: pd.DataFrame, sheet: str = "table") -> str:
    return xlsx_file([table], list(table.columns), {}, data_sheet=sheet)
