"""Ward covariates for the small-area model: the ones KhaoSat already holds, and an admin's upload.

Built in, for every ward of the province: the population, the share aged 60 and over and the share of
women from the census margins (:class:`web.models.PopulationMargin`), and whether it is a rural commune
(xã) rather than an urban ward (phường) or special zone, from the area's division type.

Uploaded (``/research/covariates``): a CSV whose first column is ``ward_code`` and whose other columns
are numeric covariates; the second and third lines hold each column's label in Vietnamese
(``label_vi``) and English (``label_en``)::

    ward_code,share_higher_education
    label_vi,Tỷ lệ có trình độ cao đẳng trở lên
    label_en,Share with a college or university degree
    70,0.41
    ...

Everything is checked before anything is stored: the header, names, labels, that every ward of the
province appears exactly once, and that every value is a number. A problem means a list of messages
naming their lines, and no change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlmodel import Session, delete, select

from analysis.lazy import pandas as pd
from surveys import areas
from web import area_lists, audit, db
from web.auth import requesting_user, role_required
from web.catalog import installation_provinces
from web.i18n import _, language, lazy_gettext, ngettext, pick
from web.messages import in_every_language
from web.models import Area, PopulationMargin, Role, WardCovariate
from web.population import Population
from web.research import bp
from web.research.downloads import MarginsForm
from web.ward_checks import csv_rows, name_column, ward_problems

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_MESSAGES = 20
BUILT_IN = ("rural", "share_60_plus", "share_women", "population_thousands")


@dataclass(frozen=True)
class Covariate:
    """A covariate's column name and its label by language: a built-in one's from the catalogs (every
    language offered), an uploaded one's as its file gave it (``label_vi``, ``label_en``); a language
    without a label reads the Vietnamese one."""

    name: str
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return pick(self.labels, lang)


#: the built-in covariates' labels (interface text: translated through the catalogs)
BUILT_IN_LABELS = {"rural": lazy_gettext("Rural commune (xã) rather than urban ward (phường)"),
                   "share_60_plus": lazy_gettext("Share of people aged 60 and over (census margins)"),
                   "share_women": lazy_gettext("Share of women (census margins)"),
                   "population_thousands": lazy_gettext("Population (thousands, census margins)")}


def built_in_covariates() -> list[Covariate]:
    """The built-in covariates, labelled in every language offered from the catalogs."""
    return [Covariate(name, in_every_language(text)) for name, text in BUILT_IN_LABELS.items()]


def ward_covariates(session: Session, province: int) -> tuple[pd.DataFrame, list[Covariate]]:
    """One row per ward of ``province`` (``ward_code`` and each covariate), and the covariates' labels.

    A built-in covariate from the margins is left out when no margins are loaded.
    """
    wards = session.exec(select(Area).where(Area.level == "ward", Area.parent_code == province)).all()
    table = pd.DataFrame({"ward_code": [a.code for a in wards],
                          "rural": [1.0 if a.division_type == "xã" else 0.0 for a in wards]})
    labels = {c.name: c for c in built_in_covariates()}
    offered = [labels["rural"]]
    margins = session.exec(select(PopulationMargin).where(PopulationMargin.province_code == province)).all()
    if margins:
        cells = pd.DataFrame([(m.ward_code, m.sex, m.age_band, m.count) for m in margins],
                             columns=["ward_code", "sex", "age_band", "count"])
        total = cells.groupby("ward_code")["count"].sum()
        census = pd.DataFrame({
            "population_thousands": total / 1000,
            "share_60_plus": cells[cells["age_band"] == "60+"].groupby("ward_code")["count"].sum() / total,
            "share_women": cells[cells["sex"] == "2"].groupby("ward_code")["count"].sum() / total,
        }).fillna(0.0)
        census.loc[total[total == 0].index] = float("nan")
        table = table.merge(census, left_on="ward_code", right_index=True, how="left")
        offered = [labels[n] for n in BUILT_IN]
    uploaded = session.exec(select(WardCovariate).where(WardCovariate.province_code == province)).all()
    if uploaded:
        values = pd.DataFrame([(u.ward_code, u.name, u.value) for u in uploaded], columns=["ward_code", "name", "value"])
        wide = values.pivot(index="ward_code", columns="name", values="value")
        table = table.merge(wide, left_on="ward_code", right_index=True, how="left")
        seen: dict[str, Covariate] = {}
        for u in uploaded:
            seen.setdefault(u.name, Covariate(u.name, {"vi": u.label_vi, "en": u.label_en}))
        offered += sorted(seen.values(), key=lambda c: c.name)
    return table, offered


def parse_covariates(data: bytes, province: int) -> tuple[pd.DataFrame | None, list[Covariate], list[str]]:
    """The values (ward_code, name, value) and the covariates, or ``None`` and the problems, each naming its line.

    An optional ``ward_name`` column is checked against the official name of each code
    (:func:`web.ward_checks.ward_problems`) and is not a covariate.
    """
    rows, problems = _rows(data)
    if problems:
        return None, [], problems
    header = [h.strip() for h in rows[0]]
    name_at = name_column(header)
    columns = [(i, h) for i, h in enumerate(header) if i and i != name_at]  #: (position, covariate name)
    problems = _header_problems([header[0], *(h for _, h in columns)])
    labels = _labels(rows, columns, problems)
    if problems:
        return None, [], problems[:MAX_MESSAGES]
    records, seen = _values(rows, columns, name_at, province, problems)
    _missing_wards(set(areas.ward_codes(province)) - set(seen), problems)
    if len(problems) >= MAX_MESSAGES:
        problems = [*problems[:MAX_MESSAGES], _("Checking stopped after %(n)d problems.", n=MAX_MESSAGES)]
    if problems:
        return None, [], problems
    covariates = [Covariate(n, {"vi": vi, "en": en})
                  for (_i, n), vi, en in zip(columns, labels["label_vi"], labels["label_en"], strict=True)]
    return pd.DataFrame.from_records(records, columns=["ward_code", "name", "value"]), covariates, []


def _rows(data: bytes) -> tuple[list[list[str]], list[str]]:
    """The non-empty lines of the CSV, or the reason it cannot be read."""
    rows, problems = csv_rows(data)
    if rows is None:
        return [], problems
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 4:
        return [], [_("The file needs a header line, a label_vi line, a label_en line and a line for each ward.")]
    return rows, []


def _labels(rows: list[list[str]], columns: list[tuple[int, str]], problems: list[str]) -> dict[str, list[str]]:
    """Each column's label from lines 2 (``label_vi``) and 3 (``label_en``); problems appended."""
    labels = {}
    for line, key in ((2, "label_vi"), (3, "label_en")):
        row = rows[line - 1]
        if not row or row[0].strip() != key:
            problems.append(_("Line %(line)d must start with “%(key)s” and give each column's label.", line=line, key=key))
            continue
        labels[key] = [(row[i].strip() if i < len(row) else "") for i, _name in columns]
        for (_i, name), text in zip(columns, labels[key], strict=True):
            if not text or len(text) > 200:
                problems.append(_("Line %(line)d: the label of column “%(column)s” is missing or longer than 200 "
                                  "characters.", line=line, column=name))
    return labels


def _values(rows: list[list[str]], columns: list[tuple[int, str]], name_at: int | None, province: int,
            problems: list[str]) -> tuple[list[tuple], dict[int, int]]:
    """(ward_code, name, value) of every ward line, and the line each ward came on; problems appended."""
    records, seen = [], {}
    for line, row in enumerate(rows[3:], start=4):
        name = row[name_at].strip() if name_at is not None and name_at < len(row) else ""
        code, ward_messages = ward_problems(line, row[0].strip() if row else "", name, province)
        problems += ward_messages
        if code in seen:
            problems.append(_("Line %(line)d repeats the ward of line %(first)d.", line=line, first=seen[code]))
        elif code is not None:
            seen[code] = line
        for i, column in columns:
            text = row[i].strip() if i < len(row) else ""
            value = _number(text)
            if value is None:
                problems.append(_("Line %(line)d: “%(column)s” must be a number, not “%(value)s”.",
                                  line=line, column=column, value=text))
            records.append((code, column, value))
        if len(problems) >= MAX_MESSAGES:
            break
    return records, seen


def _missing_wards(missing: set[int], problems: list[str]) -> None:
    """A problem naming the province's wards the file leaves out (the model needs every ward)."""
    if not missing or len(problems) >= MAX_MESSAGES:
        return
    missing = sorted(missing)
    codes = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
    problems.append(ngettext("%(num)s ward of the province is missing (the model needs every ward): %(codes)s.",
                             "%(num)s wards of the province are missing (the model needs every ward): %(codes)s.",
                             len(missing), codes=codes))


def _header_problems(header: list[str]) -> list[str]:
    if not header or header[0].lower() != "ward_code":
        return [_("Line 1: the first column must be “ward_code”.")]
    problems, names = [], header[1:]
    if not names:
        problems.append(_("Line 1: add at least one covariate column after “ward_code”."))
    for name in names:
        if not NAME_RE.match(name):
            problems.append(_("Line 1: “%(column)s” is not a usable column name (lower-case letters, digits and _, "
                              "starting with a letter, at most 40).", column=name))
        elif name in BUILT_IN:
            problems.append(_("Line 1: “%(column)s” is built in (from the census margins); name the column "
                              "differently.", column=name))
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(_("Line 1: the column “%(column)s” appears twice.", column=name))
    return problems


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def replace_covariates(session: Session, province: int, values: pd.DataFrame, covariates: list[Covariate],
                       source: str, user_id: int | None) -> int:
    """Store the uploaded covariates of ``province``, replacing the old ones in one transaction."""
    by_name = {c.name: c for c in covariates}
    session.exec(delete(WardCovariate).where(WardCovariate.province_code == province))
    session.add_all(WardCovariate(province_code=province, name=r.name, label_vi=by_name[r.name].labels["vi"],
                                  label_en=by_name[r.name].labels["en"], ward_code=int(r.ward_code), value=float(r.value),
                                  source=source[:200], uploaded_by=user_id)
                    for r in values.itertuples(index=False))
    session.commit()
    return len(covariates)


def demo_covariates(population: Population) -> tuple[pd.DataFrame, list[Covariate]]:
    """The demo's upload: census-like ward aggregates of its synthetic population (education, ethnicity),
    never its truths."""
    cells = population.cells
    total = cells.groupby("ward_code")["N"].sum()
    high = cells[cells["education"] == "high"].groupby("ward_code")["N"].sum().reindex(total.index, fill_value=0)
    minority = population.wards.set_index("ward_code")["minority_share"].reindex(total.index)
    values = pd.concat([
        pd.DataFrame({"ward_code": total.index, "name": "share_higher_education", "value": (high / total).round(4).to_numpy()}),
        pd.DataFrame({"ward_code": total.index, "name": "share_ethnic_minority", "value": minority.to_numpy()}),
    ], ignore_index=True)
    return values, [Covariate("share_higher_education", {"vi": "Tỷ lệ người có trình độ cao đẳng, đại học trở lên",
                                                         "en": "Share of people with a college or university education"}),
                    Covariate("share_ethnic_minority", {"vi": "Tỷ lệ người dân tộc thiểu số (điều tra dân số)",
                                                        "en": "Share of people of an ethnic minority (census)"})]


@bp.route("/covariates", methods=["GET", "POST"])
@role_required(Role.admin)
def covariates_upload():
    """Upload ward covariates for the small-area model (every problem listed by line; nothing stored on error)."""
    choice = area_lists.upload_province(installation_provinces(db.session()), request.values.get("province"),
                                        int(current_app.config["KHAOSAT_PROVINCE"]))
    province = choice.province
    form = MarginsForm()  # the same single-file form as the census margins
    problems: list[str] = []
    if form.validate_on_submit():
        values, parsed, problems = _read_upload(province)
        if values is not None:
            filename = request.files["file"].filename
            count = replace_covariates(db.session(), province, values, parsed, filename, requesting_user().id)
            audit.record("covariates_upload", target=filename[:200], detail={"covariates": count})
            flash(ngettext("%(num)s ward covariate saved.", "%(num)s ward covariates saved.", count))
            return redirect(url_for("research.covariates_upload", province=province if choice.several else None))
    table, offered = ward_covariates(db.session(), province)
    return render_template("research/covariates.html", form=form, problems=problems, offered=offered, pick=choice,
                           wards=len(table), lang=language()), 422 if problems else 200


def _read_upload(province: int) -> tuple[pd.DataFrame | None, list[Covariate], list[str]]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, [], [_("Choose a CSV file to upload.")]
    return parse_covariates(upload.read(), province)
