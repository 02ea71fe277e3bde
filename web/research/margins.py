"""Reading an uploaded census table (CSV: ward_code, sex, age_band, count), comparing it, storing it.

The parser checks everything before anything is stored: missing columns, unknown ward codes, ward
names that are not the code's official name (an optional ``ward_name`` column), sexes or age bands,
counts that are not whole numbers from 0 to :data:`MAX_COUNT`, and duplicated cells. Any problem means
a list of messages in the user's language and no change. A good file is first compared with the
margins in use (:func:`compare`: wards added, changed, removed), and only stored once the admin has
confirmed that comparison, against the same margins it was made with (:func:`digest`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

import pandas as pd
from flask_babel import format_decimal
from sqlmodel import Session, delete, select

from surveys import areas
from web import audit
from web.i18n import _
from web.models import PopulationMargin
from web.population import AGE_BANDS, SEXES
from web.ward_checks import name_column, ward_problems

COLUMNS = ("ward_code", "sex", "age_band", "count")
MAX_MESSAGES = 20
MAX_COUNT = 10**8 - 1  #: no ward has a hundred million people; larger numbers are typing or unit errors
_COUNT = re.compile(r"[0-9]{1,8}")


def parse_margins(data: bytes, province: int) -> tuple[pd.DataFrame | None, list[str]]:
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
    name_at = name_column(header)
    problems: list[str] = []
    seen: dict[tuple, int] = {}
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
        name = row[name_at].strip() if name_at is not None and name_at < len(row) else ""
        ward, ward_messages = ward_problems(line, cells["ward_code"], name, province)
        problems += ward_messages
        if cells["sex"] not in SEXES:
            problems.append(_("Line %(line)d: sex must be 1 (male) or 2 (female), not “%(value)s”.",
                              line=line, value=cells["sex"]))
        if cells["age_band"] not in AGE_BANDS:
            problems.append(_("Line %(line)d: age band must be one of %(bands)s, not “%(value)s”.",
                              line=line, bands=", ".join(AGE_BANDS), value=cells["age_band"]))
        count = int(cells["count"]) if _COUNT.fullmatch(cells["count"]) else None
        if count is None:
            problems.append(_("Line %(line)d: the count must be a whole number from 0 to %(max)s, not “%(value)s”.",
                              line=line, max=format_decimal(MAX_COUNT), value=cells["count"][:40]))
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


@dataclass
class WardChange:
    code: int
    name: str
    before: int | None  #: people in the ward's cells now (``None``: the ward has no margins yet)
    after: int | None  #: people in the file (``None``: the file leaves the ward out)
    cells_before: int = 0
    cells_after: int = 0


@dataclass
class Comparison:
    """What storing a file would change, ward by ward."""

    added: list[WardChange] = field(default_factory=list)
    changed: list[WardChange] = field(default_factory=list)
    removed: list[WardChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def stored_rows(session: Session, province: int) -> list[PopulationMargin]:
    return list(session.exec(select(PopulationMargin).where(PopulationMargin.province_code == province)
                             .order_by(PopulationMargin.id)).all())


def digest(rows: list[PopulationMargin]) -> str:
    """A fingerprint of the stored margins, so that a confirmation applies to the table it was shown against."""
    text = "\n".join(sorted(f"{r.ward_code},{r.sex},{r.age_band},{r.count},{r.code_list}" for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


def compare(rows: list[PopulationMargin], table: pd.DataFrame, province: int) -> Comparison:
    """Wards the file adds, changes (any cell) and removes, against the stored ``rows``."""
    names = {w.code: w.name for w in areas.wards(province)}
    old: dict[int, dict[tuple, int]] = {}
    for r in rows:
        old.setdefault(r.ward_code, {})[(r.sex, r.age_band)] = r.count
    new: dict[int, dict[tuple, int]] = {}
    for r in table.itertuples(index=False):
        new.setdefault(int(r.ward_code), {})[(r.sex, r.age_band)] = int(r.count)
    out = Comparison()
    for code in sorted(old.keys() | new.keys(), key=lambda c: areas.sort_key(names.get(c, str(c)))):
        before, after = old.get(code), new.get(code)
        change = WardChange(code, names.get(code, str(code)), sum(before.values()) if before is not None else None,
                            sum(after.values()) if after is not None else None, len(before or {}), len(after or {}))
        if before is None:
            out.added.append(change)
        elif after is None:
            out.removed.append(change)
        elif before != after:
            out.changed.append(change)
        else:
            out.unchanged += 1
    return out


def replace_margins(session: Session, province: int, table: pd.DataFrame, source: str,
                    user_id: int | None, comparison: Comparison | None = None) -> int:
    """Store ``table`` as the province's margins, replacing the old ones in one transaction (audited)."""
    session.exec(delete(PopulationMargin).where(PopulationMargin.province_code == province))
    session.add_all(PopulationMargin(province_code=province, ward_code=int(r.ward_code), sex=r.sex,
                                     age_band=r.age_band, count=int(r.count), source=source[:200],
                                     uploaded_by=user_id, code_list=areas.CODE_LIST)
                    for r in table.itertuples(index=False))
    if comparison is not None:
        audit.record("margins_replaced", target=source[:120], session=session, commit=False,
                     detail={"cells": len(table), "added": len(comparison.added), "changed": len(comparison.changed),
                             "removed": len(comparison.removed), "code_list": areas.CODE_LIST})
    session.commit()
    return len(table)
