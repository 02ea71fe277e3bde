"""Reading an uploaded census table (CSV: ward_code, sex, age_band, count), comparing it, storing it.

Surveys covering several provinces or the nation are calibrated to a province table instead (CSV:
province_code, sex, age_band, count; :func:`parse_province_margins`), stored at once for its provinces.

The parser checks everything before anything is stored: missing columns, unknown ward codes, ward
names that are not the code's official name (an optional ``ward_name`` column), sexes or age bands,
counts that are not whole numbers from 0 to :data:`MAX_COUNT`, and duplicated cells. Any problem means
a list of messages in the user's language and no change. A good file is first compared with the
margins in use (:func:`compare`: wards added, changed, removed), and only stored once the admin has
confirmed that comparison, against the same margins it was made with (:func:`digest`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from flask_babel import format_decimal
from sqlmodel import Session, delete, select

from analysis.lazy import pandas as pd
from surveys import areas
from web import audit
from web.i18n import _
from web.models import PopulationMargin, ProvinceMargin
from web.population import AGE_BANDS, SEXES
from web.ward_checks import csv_rows, name_column, ward_problems

COLUMNS = ("ward_code", "sex", "age_band", "count")
PROVINCE_COLUMNS = ("province_code", "sex", "age_band", "count")
MAX_MESSAGES = 20
MAX_COUNT = 10**8 - 1  #: no ward has a hundred million people; larger numbers are typing or unit errors
_COUNT = re.compile(r"[0-9]{1,8}")


def parse_margins(data: bytes, province: int) -> tuple[pd.DataFrame | None, list[str]]:
    """The ward table, or ``None`` and the problems found (each naming its line)."""
    def ward(line: int, cells: dict[str, str], name: str) -> tuple[int | None, list[str]]:
        return ward_problems(line, cells["ward_code"], name, province)

    return _parsed(data, COLUMNS, ward)


def parse_province_margins(data: bytes) -> tuple[pd.DataFrame | None, list[str]]:
    """The province table (province_code, sex, age_band, count: for surveys covering several provinces or
    the nation), or ``None`` and the problems found (each naming its line)."""
    def province(line: int, cells: dict[str, str], name: str) -> tuple[int | None, list[str]]:
        code = cells["province_code"]
        if code.isdigit() and int(code) in areas.province_names():
            return int(code), []
        return None, [_("Line %(line)d, column %(column)s: “%(value)s” is not the code of a province (after July "
                        "2025).", line=line, column="province_code", value=code[:40])]

    return _parsed(data, PROVINCE_COLUMNS, province)


def _parsed(data: bytes, columns: tuple[str, ...], area) -> tuple[pd.DataFrame | None, list[str]]:
    """The table of ``columns`` (the first names the area, checked by ``area``), or ``None`` and the problems."""
    rows, problems = csv_rows(data)
    if rows is None:
        return None, problems
    if not rows:
        return None, [_("The file is empty.")]
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        return None, [_("Missing column(s): %(columns)s. The columns must be: %(expected)s.",
                        columns=", ".join(missing), expected=", ".join(columns))]
    at = {c: header.index(c) for c in columns}
    name_at = name_column(header)
    seen: dict[tuple, int] = {}
    records = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
        name = row[name_at].strip() if name_at is not None and name_at < len(row) else ""
        code, area_messages = area(line, cells, name)
        problems += area_messages
        count = _cell_problems(line, cells, problems)
        key = (code, cells["sex"], cells["age_band"])
        if key in seen:
            problems.append(_("Line %(line)d repeats the cell of line %(first)d.", line=line, first=seen[key]))
        seen.setdefault(key, line)
        records.append({columns[0]: code, "sex": cells["sex"], "age_band": cells["age_band"], "count": count})
        if len(problems) >= MAX_MESSAGES:
            problems.append(_("Checking stopped after %(n)d problems.", n=MAX_MESSAGES))
            break
    if not problems and not records:
        problems.append(_("The file has no rows of counts."))
    if problems:
        return None, problems
    return pd.DataFrame.from_records(records, columns=list(columns)), []


def _cell_problems(line: int, cells: dict[str, str], problems: list[str]) -> int | None:
    """The count of one line (``None`` when unusable); problems with its sex, age band and count appended."""
    if cells["sex"] not in SEXES:
        problems.append(_("Line %(line)d, column %(column)s: sex must be 1 (male) or 2 (female), not “%(value)s”.",
                          line=line, column="sex", value=cells["sex"][:40]))
    if cells["age_band"] not in AGE_BANDS:
        problems.append(_("Line %(line)d, column %(column)s: age band must be one of %(bands)s, not “%(value)s”.",
                          line=line, column="age_band", bands=", ".join(AGE_BANDS), value=cells["age_band"][:40]))
    count = int(cells["count"]) if _COUNT.fullmatch(cells["count"]) else None
    if count is None:
        problems.append(_("Line %(line)d, column %(column)s: the count must be a whole number from 0 to %(max)s, "
                          "not “%(value)s”.", line=line, column="count", max=format_decimal(MAX_COUNT),
                          value=cells["count"][:40]))
    return count


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


@dataclass
class ProvinceChange:
    """One province's margins now and in the file: people and cells added, changed and removed."""

    code: int
    name: str
    before: int | None  #: people in its cells now (``None``: no margins yet)
    after: int
    added: int = 0
    changed: int = 0
    removed: int = 0  #: cells it has now that the file leaves out (they would be deleted)


@dataclass
class ProvinceComparison:
    """What storing a province file would change; provinces the file does not list keep their margins."""

    provinces: list[ProvinceChange] = field(default_factory=list)  #: those the file changes, in name order
    unchanged: int = 0  #: provinces in the file whose cells are all the same

    def total(self, what: str) -> int:
        return sum(getattr(p, what) for p in self.provinces)

    @property
    def changes_anything(self) -> bool:
        return bool(self.provinces)


def stored_province_rows(session: Session) -> list[ProvinceMargin]:
    return list(session.exec(select(ProvinceMargin).order_by(ProvinceMargin.id)).all())


def province_digest(rows: list[ProvinceMargin]) -> str:
    """A fingerprint of the stored province margins (a confirmation applies to the table it was shown against)."""
    text = "\n".join(sorted(f"{r.province_code},{r.sex},{r.age_band},{r.count}" for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


def compare_provinces(rows: list[ProvinceMargin], table: pd.DataFrame) -> ProvinceComparison:
    """Cells added, changed and removed in each province the file lists, with its people before and after."""
    old: dict[int, dict[tuple, int]] = {}
    for r in rows:
        old.setdefault(r.province_code, {})[(r.sex, r.age_band)] = r.count
    new: dict[int, dict[tuple, int]] = {}
    for r in table.itertuples(index=False):
        new.setdefault(int(r.province_code), {})[(r.sex, r.age_band)] = int(r.count)
    names = areas.province_names()
    out = ProvinceComparison()
    for code in sorted(new, key=lambda c: areas.sort_key(names.get(c, str(c)))):
        before, after = old.get(code, {}), new[code]
        change = ProvinceChange(code, names.get(code, str(code)), sum(before.values()) if before else None,
                                sum(after.values()), added=len(after.keys() - before.keys()),
                                changed=sum(1 for k in after.keys() & before.keys() if after[k] != before[k]),
                                removed=len(before.keys() - after.keys()))
        if change.added or change.changed or change.removed:
            out.provinces.append(change)
        else:
            out.unchanged += 1
    return out


def replace_province_margins(session: Session, table: pd.DataFrame, source: str, user_id: int | None) -> int:
    """Store ``table`` (province_code, sex, age_band, count) as its provinces' margins, replacing theirs (audited
    when a person uploaded it)."""
    codes = sorted({int(c) for c in table["province_code"]})
    session.exec(delete(ProvinceMargin).where(ProvinceMargin.province_code.in_(codes)))
    session.add_all(ProvinceMargin(province_code=int(r.province_code), sex=r.sex, age_band=r.age_band,
                                   count=int(r.count), source=source[:200], uploaded_by=user_id)
                    for r in table.itertuples(index=False))
    if user_id is not None:
        audit.record("province_margins_replaced", target=source[:120], session=session, commit=False,
                     detail={"cells": len(table), "provinces": codes})
    session.commit()
    return len(table)
