"""Sample frames: an admin's upload of residential groups per ward, and optionally their household lists.

Groups (CSV ``ward_code,group_code,group_name,households``, optionally ``ward_name``): every line is
checked as the margins upload is (:mod:`web.research.margins`): the ward code and name, a group code,
a whole number of households from 1 to :data:`MAX_HOUSEHOLDS`, no group twice. A good file replaces the
groups of the wards it names (other wards keep theirs).

Household lists (CSV ``ward_code,group_code,address``, one line per household in walking order): each
group must be on the frame; its list replaces the group's list. Any problem in either file: messages
naming the line, and nothing stored. A ward whose groups a draw already used is not replaced.
"""

from __future__ import annotations

import csv
import io
import re

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func
from sqlmodel import Session, delete, select

from analysis.lazy import pandas as pd
from surveys import areas
from web import area_lists, audit, db
from web.auth import requesting_user, role_required
from web.catalog import installation_provinces
from web.i18n import _
from web.models import FrameGroup, FrameHousehold, Role, SampledHousehold
from web.research import bp
from web.ward_checks import name_column, ward_problems

GROUP_COLUMNS = ("ward_code", "group_code", "group_name", "households")
HOUSEHOLD_COLUMNS = ("ward_code", "group_code", "address")
MAX_MESSAGES = 20
MAX_HOUSEHOLDS = 99_999  #: no residential group has a hundred thousand households
_WHOLE = re.compile(r"[0-9]{1,5}")


def _rows(data: bytes, columns: tuple[str, ...]) -> tuple[list[list[str]] | None, dict[str, int], list[str]]:
    """The CSV's lines (header first) and where each column is, or the problem that stops reading."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, {}, [_("The file is not UTF-8 text. Save it as CSV UTF-8 and upload it again.")]
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return None, {}, [_("The file is not a readable CSV table.")]
    if not rows:
        return None, {}, [_("The file is empty.")]
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        return None, {}, [_("Missing column(s): %(columns)s. The columns must be: %(expected)s.",
                            columns=", ".join(missing), expected=", ".join(columns))]
    at = {c: header.index(c) for c in columns}
    name_at = name_column(header)
    if name_at is not None:
        at["ward_name"] = name_at
    return rows, at, []


def _cells(row: list[str], at: dict[str, int]) -> dict[str, str]:
    return {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}


def _group_code_problem(line: int, code: str) -> list[str]:
    if not code or len(code) > 40:
        return [_("Line %(line)d: the group code must be 1 to 40 characters, not “%(value)s”.",
                  line=line, value=code[:60])]
    return []


def _lines(rows: list[list[str]], at: dict):
    """Each non-empty line after the header: its number and its cells by column name."""
    for line, row in enumerate(rows[1:], start=2):
        if any(cell.strip() for cell in row):
            yield line, _cells(row, at)


def parse_groups(data: bytes, province: int) -> tuple[pd.DataFrame | None, list[str]]:
    """The residential groups of a file, or ``None`` and every problem found (each naming its line)."""
    rows, at, problems = _rows(data, GROUP_COLUMNS)
    if rows is None:
        return None, problems
    seen: dict[tuple, int] = {}
    records = []
    for line, cells in _lines(rows, at):
        ward, ward_messages = ward_problems(line, cells["ward_code"], cells.get("ward_name", ""), province)
        problems += ward_messages + _group_code_problem(line, cells["group_code"])
        households = int(cells["households"]) if _WHOLE.fullmatch(cells["households"]) else 0
        if not 1 <= households <= MAX_HOUSEHOLDS:
            problems.append(_("Line %(line)d: households must be a whole number from 1 to %(max)d, not “%(value)s”.",
                              line=line, max=MAX_HOUSEHOLDS, value=cells["households"][:40]))
        key = (ward, cells["group_code"])
        if key in seen:
            problems.append(_("Line %(line)d repeats the group of line %(first)d.", line=line, first=seen[key]))
        seen.setdefault(key, line)
        records.append({"ward_code": ward, "group_code": cells["group_code"],
                        "group_name": cells["group_name"][:200], "households": households})
        if len(problems) >= MAX_MESSAGES:
            problems.append(_("Checking stopped after %(n)d problems.", n=MAX_MESSAGES))
            break
    if not problems and not records:
        problems.append(_("The file has no groups."))
    return (None, problems) if problems else (pd.DataFrame.from_records(records), [])


def parse_households(data: bytes, province: int, groups: dict[tuple[int, str], int]
                     ) -> tuple[pd.DataFrame | None, list[str]]:
    """Household lists: each line's group must be on the frame (``groups``: (ward, group code) -> id)."""
    rows, at, problems = _rows(data, HOUSEHOLD_COLUMNS)
    if rows is None:
        return None, problems
    records = []
    for line, cells in _lines(rows, at):
        ward, ward_messages = ward_problems(line, cells["ward_code"], cells.get("ward_name", ""), province)
        problems += ward_messages
        group = groups.get((ward, cells["group_code"]))
        if ward is not None and group is None:
            problems.append(_("Line %(line)d: group “%(group)s” of ward %(ward)d is not on the frame; upload the "
                              "groups first.", line=line, group=cells["group_code"][:60], ward=ward))
        if not cells["address"] or len(cells["address"]) > 300:
            problems.append(_("Line %(line)d: the address must be 1 to 300 characters.", line=line))
        records.append({"group_id": group, "address": cells["address"]})
        if len(problems) >= MAX_MESSAGES:
            problems.append(_("Checking stopped after %(n)d problems.", n=MAX_MESSAGES))
            break
    if not problems and not records:
        problems.append(_("The file has no households."))
    if problems:
        return None, problems
    table = pd.DataFrame.from_records(records)
    table["position"] = table.groupby("group_id").cumcount() + 1
    return table, []


def frame_groups(session: Session, province: int) -> list[FrameGroup]:
    return list(session.exec(select(FrameGroup).where(FrameGroup.province_code == province)
                             .order_by(FrameGroup.ward_code, FrameGroup.group_code)).all())


def _drawn_wards(session: Session, wards: set[int]) -> list[int]:
    return sorted(set(session.exec(select(SampledHousehold.ward_code)
                                   .where(SampledHousehold.ward_code.in_(wards))).all()))


def replace_groups(session: Session, province: int, table: pd.DataFrame, source: str, user_id: int | None) -> None:
    """Store the file's groups in place of those of the wards it names (their lists go with them)."""
    wards = {int(w) for w in table["ward_code"]}
    old = select(FrameGroup.id).where(FrameGroup.ward_code.in_(wards))
    session.exec(delete(FrameHousehold).where(FrameHousehold.group_id.in_(old)))
    session.exec(delete(FrameGroup).where(FrameGroup.ward_code.in_(wards)))
    session.add_all(FrameGroup(province_code=province, ward_code=int(r.ward_code), group_code=r.group_code,
                               name=r.group_name, households=int(r.households), source=source[:200],
                               uploaded_by=user_id, code_list=areas.CODE_LIST) for r in table.itertuples())
    audit.record("frame_groups_replaced", target=source[:120], session=session, commit=False,
                 detail={"wards": len(wards), "groups": len(table)})
    session.commit()


def replace_households(session: Session, table: pd.DataFrame, source: str) -> None:
    groups = {int(g) for g in table["group_id"]}
    session.exec(delete(FrameHousehold).where(FrameHousehold.group_id.in_(groups)))
    session.add_all(FrameHousehold(group_id=int(r.group_id), position=int(r.position), address=r.address)
                    for r in table.itertuples())
    audit.record("frame_households_replaced", target=source[:120], session=session, commit=False,
                 detail={"groups": len(groups), "households": len(table)})
    session.commit()


class FrameForm(FlaskForm):
    file = FileField()


@bp.route("/frames", methods=["GET", "POST"])
@role_required(Role.admin)
def frames():
    """Upload the residential groups of wards (``?kind=groups``) or their household lists (``?kind=households``)."""
    session = db.session()
    choice = area_lists.upload_province(installation_provinces(session), request.values.get("province"),
                                        int(current_app.config["KHAOSAT_PROVINCE"]))
    province = choice.province
    form = FrameForm()
    problems: list[str] = []
    kind = request.form.get("kind", "groups")
    if form.validate_on_submit():
        upload = request.files.get("file")
        problems = [_("Choose a CSV file to upload.")] if upload is None or not upload.filename else []
        if not problems:
            problems = _store(session, province, kind, upload.read(), upload.filename)
        if not problems:
            return redirect(url_for("research.frames", province=province if choice.several else None))
    groups = frame_groups(session, province)
    listed = dict(session.exec(select(FrameHousehold.group_id, func.count(FrameHousehold.id))
                               .group_by(FrameHousehold.group_id)).all())
    listed = {g.id: listed[g.id] for g in groups if g.id in listed}  # the chosen province's lists only
    wards = _ward_summary(groups, listed)
    return render_template("research/frames.html", form=form, problems=problems, kind=kind, wards=wards, pick=choice,
                           province_name=areas.province_names().get(province, ""),
                           groups=len(groups), households=sum(g.households for g in groups),
                           listed=sum(listed.values())), 422 if problems else 200


def _store(session: Session, province: int, kind: str, data: bytes, filename: str) -> list[str]:
    """Check one upload and store it when it is sound; the problems otherwise (nothing stored)."""
    user = requesting_user()
    if kind == "households":
        known = {(g.ward_code, g.group_code): g.id for g in frame_groups(session, province)}
        table, problems = parse_households(data, province, known)
        if table is not None:
            replace_households(session, table, filename)
            flash(_("Household lists saved: %(n)d households.", n=len(table)))
        return problems
    table, problems = parse_groups(data, province)
    if table is None:
        return problems
    drawn = _drawn_wards(session, {int(w) for w in table["ward_code"]})
    if drawn:
        return [_("A sample was already drawn in ward(s) %(wards)s; their groups cannot be replaced.",
                  wards=", ".join(map(str, drawn)))]
    replace_groups(session, province, table, filename, user.id if user else None)
    flash(_("Sample frame saved: %(n)d residential groups.", n=len(table)))
    return []


def _ward_summary(groups: list[FrameGroup], listed: dict[int, int]) -> list[dict]:
    names = {w.code: w.name for w in areas.all_wards().values()} if groups else {}
    out: dict[int, dict] = {}
    for g in groups:
        row = out.setdefault(g.ward_code, {"code": g.ward_code, "name": names.get(g.ward_code, ""), "groups": 0,
                                           "households": 0, "listed_groups": 0})
        row["groups"] += 1
        row["households"] += g.households
        row["listed_groups"] += 1 if listed.get(g.id) else 0
    return sorted(out.values(), key=lambda r: areas.sort_key(r["name"]))
