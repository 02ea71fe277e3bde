"""Moving stored area codes from one code list to the next: a backup first, a report of every row.

Every table that stores a ward code also stores the code list it belongs to (``code_list``, see
:data:`surveys.areas.CODE_LIST`). :func:`convert` moves each row whose list is not the current one:
ward codes of responses, drafts, population margins, ward assignments and quotas, and the answers to
``area`` questions. A row whose code has no place in the new list keeps nothing wrong: its ward becomes
empty (responses, drafts) or the row is removed (margins, assignments, quotas), and it is reported as
*unplaced*. Two rows that land on the same ward where the table allows one are *merged* (margins and
quotas add up, an assignment is kept once). Before any change the affected rows are written to a
JSON-lines backup, from which :func:`restore` puts every row back as it was.

The module works on a SQLAlchemy connection with table shapes of its own, so that Alembic revision
0007 runs it for existing installations and ``khaosat migrate-areas`` runs it later. Responses and
drafts are read, backed up and changed :data:`BATCH` rows at a time, so memory stays flat however
many there are; the backup (JSON lines) and the report (CSV of every row moved, merged or unplaced)
are written as it goes, each batch's backup before the batch changes. It all runs in the caller's
transaction: a failure changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    "ward_covariates": sa.table("ward_covariates", sa.column("id"), sa.column("ward_code"), sa.column("code_list"),
                                sa.column("province_code"), sa.column("name"), sa.column("label_vi"),
                                sa.column("label_en"), sa.column("value"), sa.column("source"),
                                sa.column("uploaded_by"), sa.column("uploaded_at")),
}
#: the columns besides the ward that a table allows only once per ward, and the column merged rows add up
UNIQUE = {"population_margins": (("sex", "age_band"), "count"), "ward_assignments": (("user_id",), None),
          "ward_quotas": (("survey_id",), "target"), "ward_covariates": (("province_code", "name"), None)}
AREAS = sa.table("areas", sa.column("id"), sa.column("level"), sa.column("code"), sa.column("name"),
                 sa.column("division_type"), sa.column("parent_code"), sa.column("code_list"))
VERSIONS = sa.table("survey_versions", sa.column("id"), sa.column("definition", _JSON))


class MixedCodeLists(Exception):
    """Stored ward codes of another code list than :data:`surveys.areas.CODE_LIST` would be counted
    together with current ones (a code may name another ward in each list), so nothing is shown."""

    def __init__(self, responses: int = 0, margins: int = 0, assignments: int = 0, quotas: int = 0) -> None:
        super().__init__(f"{responses} responses, {margins} margin cells, {assignments} ward assignments and "
                         f"{quotas} quotas hold ward codes of another code list than {areas.CODE_LIST}; "
                         "run khaosat migrate-areas")
        self.responses, self.margins, self.assignments, self.quotas = responses, margins, assignments, quotas


def require_current_fieldwork(conn: Connection) -> None:
    """Ward assignments and quotas (small tables) all on the current list, or :class:`MixedCodeLists`."""
    counts = {name: conn.execute(sa.select(sa.func.count()).select_from(TABLES[name])
                                 .where(TABLES[name].c.code_list != areas.CODE_LIST)).scalar_one()
              for name in ("ward_assignments", "ward_quotas")}
    if any(counts.values()):
        raise MixedCodeLists(assignments=counts["ward_assignments"], quotas=counts["ward_quotas"])


BATCH = 5000
FREE = ("responses", "drafts")  #: tables where any number of rows may share a ward


@dataclass
class Report:
    """Rows per table and action: "moved", "unchanged" (same code in both lists), "merged", "unplaced"."""

    to_list: str
    counts: dict[str, Counter] = field(default_factory=lambda: {name: Counter() for name in TABLES})
    backup: Path | None = None  #: the JSON-lines backup; the CSV report sits next to it (``.csv``)

    @property
    def rows(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


class _Log:
    """The backup (JSON lines: a header with the areas table, then one line per row as it was) and the
    report (CSV: one line per row moved, merged or unplaced); both absent on a dry run."""

    def __init__(self, backup, report) -> None:
        self.backup, self.report = backup, report

    def save(self, table: str, row: dict) -> None:
        if self.backup is not None:
            self.backup.write(json.dumps({"table": table, "row": row}, ensure_ascii=False, default=_json_default) + "\n")

    def note(self, table: str, row_id: int, action: str, from_list: str, old: int | None, new: int | None,
             into: int | None = None) -> None:
        if self.report is not None and action != "unchanged":
            names = areas.all_wards()
            old_name = areas.draft_names().get(old, "") if from_list == areas.DRAFT_LIST else ""
            self.report.writerow([table, row_id, action, from_list, old, old_name, new,
                                  names[new].name if new in names else "", into or ""])


@contextmanager
def _log(backup_dir: Path | None, header: dict) -> Iterator[tuple[_Log, Path | None]]:
    if backup_dir is None:
        yield _Log(None, None), None
        return
    backup_dir.mkdir(parents=True, exist_ok=True)
    path = backup_dir / f"areas-{header['made_at']}.jsonl"
    with path.open("w", encoding="utf-8") as b, path.with_suffix(".csv").open("w", encoding="utf-8", newline="") as r:
        b.write(json.dumps(header, ensure_ascii=False, default=_json_default) + "\n")
        report = csv.writer(r, lineterminator="\n")
        report.writerow(["table", "row_id", "action", "from_list", "old_code", "old_name", "new_code", "new_name",
                         "merged_into"])
        yield _Log(b, report), path


def pending(conn: Connection, to_list: str = areas.CODE_LIST) -> dict[str, int]:
    """Table -> rows whose codes belong to another list than ``to_list``."""
    return {name: conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.code_list != to_list)).scalar_one()
            for name, t in TABLES.items()}


def convert(conn: Connection, backup_dir: Path, to_list: str = areas.CODE_LIST, *,
            dry_run: bool = False) -> Report:
    """Move every row stored under another code list to ``to_list``, backing each up first (unless ``dry_run``)."""
    report = Report(to_list)
    if any(pending(conn, to_list).values()):
        questions = area_questions(conn)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        header = {"made_at": stamp, "to_list": to_list, "dialect": conn.dialect.name,
                  "areas": [dict(r) for r in conn.execute(sa.select(AREAS).order_by(AREAS.c.id)).mappings()]}
        with _log(None if dry_run else backup_dir, header) as (log, report.backup):
            for name in FREE:
                _convert_free(conn, name, to_list, questions, report, log, dry_run)
            for name in UNIQUE:
                _convert_unique(conn, name, to_list, report, log, dry_run)
    if not dry_run and conn.execute(sa.select(AREAS.c.id).where(AREAS.c.code_list != to_list).limit(1)).first():
        reload_areas(conn)
    return report


def _convert_free(conn: Connection, name: str, to_list: str, questions: dict[int, list[str]], report: Report,
                  log: _Log, dry_run: bool) -> None:
    """Responses and drafts, a batch at a time: each row takes its new code, its area answers theirs."""
    table = TABLES[name]
    change = (table.update().where(table.c.id == sa.bindparam("row_id"))
              .values(ward_code=sa.bindparam("new_ward"), answers=sa.bindparam("new_answers", type_=_JSON),
                      code_list=to_list))
    last = 0
    while True:
        rows = conn.execute(sa.select(table).where(table.c.code_list != to_list, table.c.id > last)
                            .order_by(table.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        last = rows[-1]["id"]
        changed, same = [], []
        for row in rows:
            mapping = areas.conversion(row["code_list"], to_list)
            old = row["ward_code"]
            new = mapping.get(old) if old is not None else None
            action = "unplaced" if old is not None and new is None else "unchanged" if new == old else "moved"
            answers = _converted_answers(row["answers"], questions.get(row["survey_version_id"], []), mapping)
            saved = {"id": row["id"], "code_list": row["code_list"], "ward_code": old}
            if answers or action != "unchanged":
                saved["answers"] = _loaded(row["answers"])
                changed.append({"row_id": row["id"], "new_ward": new, "new_answers": answers or saved["answers"]})
            else:
                same.append(row["id"])
            log.save(name, saved)
            log.note(name, row["id"], action, row["code_list"], old, new)
            report.counts[name][action] += 1
        if not dry_run:
            if changed:
                conn.execute(change, changed)
            if same:
                conn.execute(table.update().where(table.c.id.in_(same)).values(code_list=to_list))


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _converted_answers(answers: Any, names: list[str], mapping: dict[int, int]) -> dict:
    """The answers with each area answer in the new list (``None`` where it has no place), if any changes."""
    answers = _loaded(answers)
    changed = {}
    for name in names:
        value = answers.get(name)
        if isinstance(value, int) and mapping.get(value) != value:
            changed[name] = mapping.get(value)
    return {**answers, **changed} if changed else {}


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot back up {type(value).__name__}")


def _convert_unique(conn: Connection, name: str, to_list: str, report: Report, log: _Log, dry_run: bool) -> None:
    """Margins, assignments, quotas (small): move each row; a row landing on a ward and key already taken is
    merged into that row (counts and targets add up), a row with no place is removed."""
    table = TABLES[name]
    key, total = UNIQUE[name]
    rows = conn.execute(sa.select(table).where(table.c.code_list != to_list).order_by(table.c.id)).mappings().all()
    if not rows:
        return
    moving = {row["id"] for row in rows}
    taken = {tuple(r[k] for k in key) + (r["ward_code"],): r["id"]
             for r in conn.execute(sa.select(table).where(table.c.code_list == to_list)).mappings()
             if r["id"] not in moving}
    plan = []
    for row in rows:
        new = areas.conversion(row["code_list"], to_list).get(row["ward_code"])
        target = tuple(row[k] for k in key) + (new,)
        into = taken.get(target) if new is not None else None
        if new is not None and into is None:
            taken[target] = row["id"]
        action = "unplaced" if new is None else "merged" if into else "unchanged" if new == row["ward_code"] else "moved"
        plan.append((row, new, into, action))
    targets = sorted({into for *_, into, _ in plan if into} - moving)
    for row in [*rows, *conn.execute(sa.select(table).where(table.c.id.in_(targets))).mappings()]:
        log.save(name, dict(row))  # rows merged into are saved whole too: their counts change
    for row, new, into, action in plan:
        log.note(name, row["id"], action, row["code_list"], row["ward_code"], new, into)
        report.counts[name][action] += 1
        if dry_run:
            continue
        if new is None or into:
            if into and total:
                conn.execute(table.update().where(table.c.id == into).values({total: table.c[total] + row[total]}))
            conn.execute(table.delete().where(table.c.id == row["id"]))
        else:  # negative first: a swap of two codes never meets the unique constraint half-way
            conn.execute(table.update().where(table.c.id == row["id"]).values(ward_code=-new, code_list=to_list))
    if not dry_run:
        conn.execute(table.update().where(table.c.ward_code < 0).values(ward_code=-table.c.ward_code))


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


def reload_areas(conn: Connection) -> None:
    """Replace the areas table with the official list (provinces and wards)."""
    conn.execute(AREAS.delete())
    conn.execute(AREAS.insert(), [
        {"level": a.level, "code": a.code, "name": a.name, "division_type": a.division_type,
         "parent_code": a.parent_code, "code_list": areas.CODE_LIST}
        for p in areas.provinces() for a in (p, *areas.wards(p.code))])


def restore(conn: Connection, backup: Path) -> dict[str, int]:
    """Put every row of ``backup`` back as it was before :func:`convert`; returns rows restored per table."""
    restored = dict.fromkeys(TABLES, 0)
    whole: dict[str, list[dict]] = {name: [] for name in UNIQUE}
    with backup.open(encoding="utf-8") as f:
        header = json.loads(f.readline())
        batch: dict[str, list[dict]] = {name: [] for name in FREE}
        for line in f:
            entry = json.loads(line)
            name, row = entry["table"], entry["row"]
            restored[name] += 1
            if name in UNIQUE:
                whole[name].append(row)
                continue
            batch[name].append(row)
            if len(batch[name]) >= BATCH:
                _restore_free(conn, name, batch[name])
                batch[name] = []
        for name, rows in batch.items():
            _restore_free(conn, name, rows)
    for name, rows in whole.items():
        table = TABLES[name]
        ids = sorted({row["id"] for row in rows})
        for start in range(0, len(ids), 500):
            conn.execute(table.delete().where(table.c.id.in_(ids[start:start + 500])))
        if rows:
            conn.execute(table.insert(), [_typed(row) for row in {r["id"]: r for r in rows}.values()])
    conn.execute(AREAS.delete())
    conn.execute(AREAS.insert(), header["areas"])
    _reset_sequences(conn)
    return restored


def _restore_free(conn: Connection, name: str, rows: list[dict]) -> None:
    table = TABLES[name]
    where = table.c.id == sa.bindparam("row_id")
    full = [{"row_id": r["id"], "old_ward": r["ward_code"], "old_list": r["code_list"], "old_answers": r["answers"]}
            for r in rows if "answers" in r]
    plain = [{"row_id": r["id"], "old_ward": r["ward_code"], "old_list": r["code_list"]} for r in rows if "answers" not in r]
    if full:
        conn.execute(table.update().where(where).values(ward_code=sa.bindparam("old_ward"),
                                                        code_list=sa.bindparam("old_list"),
                                                        answers=sa.bindparam("old_answers", type_=_JSON)), full)
    if plain:
        conn.execute(table.update().where(where).values(ward_code=sa.bindparam("old_ward"),
                                                        code_list=sa.bindparam("old_list")), plain)


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
    for name in TABLES:
        c = report.counts[name]
        yield (f"{name}: {c['moved']} moved, {c['unchanged']} unchanged, {c['merged']} merged, "
               f"{c['unplaced']} unplaced")
