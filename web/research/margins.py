"""Reading an uploaded census table (CSV: ward_code, sex, age_band, count) and storing it.

The parser checks everything before anything is stored: missing columns, unknown ward codes,
sexes or age bands, counts that are not whole non-negative numbers, and duplicated cells. Any
problem means a list of messages in the user's language and no change to the stored margins.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
from sqlmodel import Session, delete

from web.i18n import _
from web.models import PopulationMargin
from web.population import AGE_BANDS, SEXES

COLUMNS = ("ward_code", "sex", "age_band", "count")
MAX_MESSAGES = 20


def parse_margins(data: bytes, ward_codes: set[int]) -> tuple[pd.DataFrame | None, list[str]]:
    """The table, or ``None`` and the problems found (each naming its line)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [_("The file is not UTF-8 text. Save it as CSV UTF-8 and upload it again.")]
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return None, [_("The file is not a readable CSV table.")]
    if not rows:
        return None, [_("The file is empty.")]
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return None, [_("Missing column(s): %(columns)s. The columns must be: %(expected)s.",
                        columns=", ".join(missing), expected=", ".join(COLUMNS))]
    at = {c: header.index(c) for c in COLUMNS}
    problems: list[str] = []
    seen: dict[tuple, int] = {}
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
        ward = _whole(cells["ward_code"])
        if ward is None or ward not in ward_codes:
            problems.append(_("Line %(line)d: unknown ward code “%(value)s”.", line=line, value=cells["ward_code"]))
        if cells["sex"] not in SEXES:
            problems.append(_("Line %(line)d: sex must be 1 (male) or 2 (female), not “%(value)s”.",
                              line=line, value=cells["sex"]))
        if cells["age_band"] not in AGE_BANDS:
            problems.append(_("Line %(line)d: age band must be one of %(bands)s, not “%(value)s”.",
                              line=line, bands=", ".join(AGE_BANDS), value=cells["age_band"]))
        count = _whole(cells["count"])
        if count is None or count < 0:
            problems.append(_("Line %(line)d: the count must be a whole number, 0 or more, not “%(value)s”.",
                              line=line, value=cells["count"]))
        key = (ward, cells["sex"], cells["age_band"])
        if key in seen:
            problems.append(_("Line %(line)d repeats the cell of line %(first)d.", line=line, first=seen[key]))
        seen.setdefault(key, line)
        records.append({"ward_code": ward, "sex": cells["sex"], "age_band": cells["age_band"], "count": count})
        if len(problems) >= MAX_MESSAGES:
            problems.append(_("Checking stopped after %(n)d problems.", n=MAX_MESSAGES))
            break
    if not problems and not records:
        problems.append(_("The file has no rows of counts."))
    if problems:
        return None, problems
    return pd.DataFrame.from_records(records, columns=list(COLUMNS)), []


def _whole(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def replace_margins(session: Session, province: int, table: pd.DataFrame, source: str,
                    user_id: int | None) -> int:
    """Store ``table`` as the province's margins, replacing the old ones in one transaction."""
    session.exec(delete(PopulationMargin).where(PopulationMargin.province_code == province))
    session.add_all(PopulationMargin(province_code=province, ward_code=int(r.ward_code), sex=r.sex,
                                     age_band=r.age_band, count=int(r.count), source=source[:200],
                                     uploaded_by=user_id) for r in table.itertuples(index=False))
    session.commit()
    return len(table)
