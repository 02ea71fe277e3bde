"""Moving stored area codes from one code list to the next: a backup first, a report of every row.

Every table that stores a ward code also stores the code list it belongs to (``code_list``, see
:data:`surveys.areas.CODE_LIST`). :func:`convert` moves each row whose list is not the current one:
ward codes of responses, drafts, population margins, ward assignments and quotas, and the answers to
``area`` questions. A row whose code has no place in the new list keeps nothing wrong: its ward becomes
empty (responses, drafts) or the row is removed (margins, assignments, quotas), and it is reported as
*unplaced*. Two rows that land on the same ward where the table allows one are *merged* (margins and
quotas add up, an assignment is kept once). Before any change the affected rows are written to a JSON
backup, from which :func:`restore` puts every row back as it was.

The module works on a SQLAlchemy connection with table shapes of its own, so that Alembic revision
0007 runs it for existing installations and ``khaosat migrate-areas`` runs it later.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from surveys import areas

_JSON = sa.JSON
TABLES = {
    "responses": sa.table("responses", sa.column("id"), sa.column("ward_code"), sa.column("code_list"),
                          sa.column("survey_version_id"), sa.column("answers", _JSON)),
    "drafts": sa.table("drafts", sa.column("id"), sa.column("ward_code"), sa.column("code_list"),
                       sa.column("survey_version_id"), sa.column("answers", _JSON)),
    "population_margins": sa.table("population_margins", sa.column("id"), sa.column("ward_code"),
                                   sa.column("code_list"), sa.column("province_code"), sa.column("sex"),
                                   sa.column("age_band"), sa.column("count"), sa.column("source"),
                                   sa.column("uploaded_by"), sa.column("uploaded_at")),
    "ward_assignments": sa.table("ward_assignments", sa.column("id"), sa.column("ward_code"),
                                 sa.column("code_list"), sa.column("user_id"), sa.column("created_at")),
    "ward_quotas": sa.table("ward_quotas", sa.column("id"), sa.column("ward_code"), sa.column("code_list"),
                            sa.column("survey_id"), sa.column("target"), sa.column("updated_at")),
}
#: the columns besides the ward that a table allows only once per ward, and the column merged rows add up
UNIQUE = {"population_margins": (("sex", "age_band"), "count"), "ward_assignments": (("user_id",), None),
          "ward_quotas": (("survey_id",), "target")}
AREAS = sa.table("areas", sa.column("id"), sa.column("level"), sa.column("code"), sa.column("name"),
                 sa.column("division_type"), sa.column("parent_code"), sa.column("code_list"))
VERSIONS = sa.table("survey_versions", sa.column("id"), sa.column("definition", _JSON))


class MixedCodeLists(Exception):
    """Stored ward codes of another code list than :data:`surveys.areas.CODE_LIST` would be counted
    together with current ones (a code may name another ward in each list), so nothing is estimated."""

    def __init__(self, responses: int = 0, margins: int = 0) -> None:
        super().__init__(f"{responses} responses and {margins} margin cells hold ward codes of another code list "
                         f"than {areas.CODE_LIST}; run khaosat migrate-areas")
        self.responses, self.margins = responses, margins


@dataclass(frozen=True)
class Move:
    """What happened to one row."""

    table: str
    row_id: int
    action: str  #: "moved", "unchanged" (same code in both lists), "merged" (into ``into``) or "unplaced"
    old_code: int | None
    new_code: int | None
    from_list: str
    into: int | None = None  #: the row a merged row was added to


@dataclass
class Report:
    to_list: str
    moves: list[Move] = field(default_factory=list)
    backup: Path | None = None

    def counts(self) -> dict[str, Counter]:
        """Table -> action -> rows."""
        out: dict[str, Counter] = {}
        for m in self.moves:
            out.setdefault(m.table, Counter())[m.action] += 1
        return out

    def write_csv(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(["table", "row_id", "action", "from_list", "old_code", "old_name", "new_code",
                          "new_name", "merged_into"])
            names = areas.all_wards()
            old_names = areas.draft_names()
            for m in self.moves:
                out.writerow([m.table, m.row_id, m.action, m.from_list, m.old_code,
                              old_names.get(m.old_code, "") if m.from_list == areas.DRAFT_LIST else "",
                              m.new_code, names[m.new_code].name if m.new_code in names else "", m.into or ""])


def area_questions(conn: Connection) -> dict[int, list[str]]:
    """Survey version id -> the names of its ``area`` questions (their answers are ward codes)."""
    out: dict[int, list[str]] = {}
    for version_id, definition in conn.execute(sa.select(VERSIONS.c.id, VERSIONS.c.definition)):
        if isinstance(definition, str):
            definition = json.loads(definition)
        out[version_id] = sorted(_area_names(definition))
    return out


def _area_names(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["name"]} if node.get("type") == "area" and isinstance(node.get("name"), str) else set()
        return found.union(*(_area_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_area_names(v) for v in node))
    return set()


def pending(conn: Connection, to_list: str = areas.CODE_LIST) -> dict[str, int]:
    """Table -> rows whose codes belong to another list than ``to_list``."""
    return {name: conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.code_list != to_list)).scalar_one()
            for name, t in TABLES.items()}


def convert(conn: Connection, backup_dir: Path, to_list: str = areas.CODE_LIST, *,
            dry_run: bool = False) -> Report:
    """Move every row stored under another code list to ``to_list``; back up first (unless ``dry_run``)."""
    questions = area_questions(conn)
    plans = {name: _plan(conn, name, to_list, questions) for name in TABLES}
    merges = _merges(conn, plans, to_list)
    report = Report(to_list, [dataclasses.replace(m, action="merged", into=merges[(m.table, m.row_id)])
                              if (m.table, m.row_id) in merges else m
                              for rows in plans.values() for _, m, _ in rows])
    if dry_run:
        return report
    if report.moves:
        report.backup = _backup(conn, plans, merges, backup_dir, to_list)
        for name in ("responses", "drafts"):
            _apply_free(conn, name, plans[name], to_list)
        for name in UNIQUE:
            _apply_unique(conn, name, plans[name], merges, to_list)
        report.write_csv(report.backup.with_suffix(".csv"))
    if report.moves or conn.execute(sa.select(AREAS.c.id).where(AREAS.c.code_list != to_list).limit(1)).first():
        reload_areas(conn)
    return report


def _plan(conn: Connection, name: str, to_list: str, questions: dict[int, list[str]]) -> list[tuple[dict, Move, dict]]:
    """(row, what happens to it, the new answers when they change) for each row not on ``to_list``."""
    table = TABLES[name]
    rows = conn.execute(sa.select(table).where(table.c.code_list != to_list).order_by(table.c.id)).mappings().all()
    out = []
    for row in rows:
        mapping = areas.conversion(row["code_list"], to_list)
        old = row["ward_code"]
        new = mapping.get(old) if old is not None else None
        action = "unplaced" if old is not None and new is None else "unchanged" if new == old else "moved"
        answers = {}
        if "answers" in row:
            answers = _converted_answers(row["answers"], questions.get(row["survey_version_id"], []), mapping)
        out.append((dict(row), Move(name, row["id"], action, old, new, row["code_list"]), answers))
    return out


def _converted_answers(answers: Any, names: list[str], mapping: dict[int, int]) -> dict:
    """The answers with each area answer in the new list (``None`` where it has no place), if any changes."""
    if isinstance(answers, str):
        answers = json.loads(answers)
    changed = {}
    for name in names:
        value = answers.get(name)
        if isinstance(value, int) and mapping.get(value) != value:
            changed[name] = mapping.get(value)
    return {**answers, **changed} if changed else {}


def _backup(conn: Connection, plans: dict[str, list], merges: dict[tuple[str, int], int], backup_dir: Path,
            to_list: str) -> Path:
    """Every row about to change, whole, and the areas table, as JSON; the rows merged into are included."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = backup_dir / f"areas-{stamp}.json"
    rows = {name: [row for row, _, _ in plan] for name, plan in plans.items()}
    for name in UNIQUE:
        targets = sorted({into for (table, _), into in merges.items() if table == name})
        if targets:
            t = TABLES[name]
            rows[name] += [dict(r) for r in conn.execute(sa.select(t).where(t.c.id.in_(targets))).mappings()]
    area_rows = [dict(r) for r in conn.execute(sa.select(AREAS).order_by(AREAS.c.id)).mappings()]
    data = {"made_at": stamp, "to_list": to_list, "dialect": conn.dialect.name, "areas": area_rows, "rows": rows}
    with path.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, default=_json_default)
    return path


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot back up {type(value).__name__}")


def _apply_free(conn: Connection, name: str, rows: list[tuple[dict, Move, dict]], to_list: str) -> None:
    """Responses and drafts: any number of rows may share a ward, so each row simply takes its new code."""
    table = TABLES[name]
    for row, move, answers in rows:
        values: dict[str, Any] = {"code_list": to_list}
        if move.new_code != move.old_code:
            values["ward_code"] = move.new_code
        if answers:
            values["answers"] = answers
        conn.execute(table.update().where(table.c.id == row["id"]).values(**values))


def _merges(conn: Connection, plans: dict[str, list], to_list: str) -> dict[tuple[str, int], int]:
    """(table, row id) -> the row it is merged into, for rows that land on a ward and key already taken."""
    merges: dict[tuple[str, int], int] = {}
    for name, (key, _) in UNIQUE.items():
        table = TABLES[name]
        moving = {row["id"] for row, _, _ in plans[name]}
        taken = {tuple(r[k] for k in key) + (r["ward_code"],): r["id"]
                 for r in conn.execute(sa.select(table).where(table.c.code_list == to_list)).mappings()
                 if r["id"] not in moving}
        for row, move, _ in plans[name]:
            if move.new_code is None:
                continue
            target = tuple(row[k] for k in key) + (move.new_code,)
            if target in taken:
                merges[(name, row["id"])] = taken[target]
            else:
                taken[target] = row["id"]
    return merges


def _apply_unique(conn: Connection, name: str, rows: list[tuple[dict, Move, dict]],
                  merges: dict[tuple[str, int], int], to_list: str) -> None:
    """Margins, assignments, quotas: move each row, add merged rows to the row they join, drop unplaced ones."""
    table = TABLES[name]
    total = UNIQUE[name][1]
    for row, move, _ in rows:
        into = merges.get((name, row["id"]))
        if move.new_code is None or into is not None:
            if into is not None and total:
                conn.execute(table.update().where(table.c.id == into).values({total: table.c[total] + row[total]}))
            conn.execute(table.delete().where(table.c.id == row["id"]))
        else:  # negative first: a swap of two codes never meets the unique constraint half-way
            conn.execute(table.update().where(table.c.id == row["id"])
                         .values(ward_code=-move.new_code, code_list=to_list))
    conn.execute(table.update().where(table.c.ward_code < 0).values(ward_code=-table.c.ward_code))


def reload_areas(conn: Connection) -> None:
    """Replace the areas table with the official list (provinces and wards)."""
    conn.execute(AREAS.delete())
    conn.execute(AREAS.insert(), [
        {"level": a.level, "code": a.code, "name": a.name, "division_type": a.division_type,
         "parent_code": a.parent_code, "code_list": areas.CODE_LIST}
        for p in areas.provinces() for a in (p, *areas.wards(p.code))])


def restore(conn: Connection, backup: Path) -> dict[str, int]:
    """Put every row of ``backup`` back as it was before :func:`convert`; returns rows restored per table."""
    data = json.loads(backup.read_text(encoding="utf-8"))
    restored: dict[str, int] = {}
    for name in ("responses", "drafts"):
        table = TABLES[name]
        for row in data["rows"][name]:
            answers = json.loads(row["answers"]) if isinstance(row["answers"], str) else row["answers"]
            conn.execute(table.update().where(table.c.id == row["id"]).values(
                ward_code=row["ward_code"], code_list=row["code_list"], answers=answers))
        restored[name] = len(data["rows"][name])
    for name in UNIQUE:
        table = TABLES[name]
        rows = data["rows"][name]
        ids = [row["id"] for row in rows]
        for start in range(0, len(ids), 500):
            conn.execute(table.delete().where(table.c.id.in_(ids[start:start + 500])))
        if rows:
            conn.execute(table.insert(), [_typed(row) for row in rows])
        restored[name] = len(rows)
    conn.execute(AREAS.delete())
    conn.execute(AREAS.insert(), data["areas"])
    _reset_sequences(conn)
    return restored


def _typed(row: dict) -> dict:
    """A backed-up row ready to insert again (timestamps back to datetimes)."""
    out = dict(row)
    for column in ("uploaded_at", "created_at", "updated_at"):
        if isinstance(out.get(column), str):
            out[column] = dt.datetime.fromisoformat(out[column])
    return out


def _reset_sequences(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    for name in (*UNIQUE, "areas"):
        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                             f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))


def summary_lines(report: Report) -> Iterable[str]:
    """One line per table: rows moved, unchanged, merged and unplaced (plain text for the command line)."""
    counts = report.counts()
    for name in TABLES:
        c = counts.get(name, Counter())
        yield (f"{name}: {c['moved']} moved, {c['unchanged']} unchanged, {c['merged']} merged, "
               f"{c['unplaced']} unplaced")
