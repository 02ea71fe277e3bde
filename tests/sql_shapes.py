"""Which SQL each test sends to PostgreSQL: the evidence for which tests run on both backends.

Most tests run on SQLite alone; those marked ``both_backends`` run on PostgreSQL too (tests/conftest.py,
"Databases"). What keeps that honest is that every statement the suite would send to PostgreSQL if every
test ran there is still sent by some test that does. This plugin records the statements, and compares::

    # every test on both backends, then the suite as it is; the PostgreSQL half of each (~5 minutes)
    KHAOSAT_ALL_BACKENDS=1 SQL_SHAPES_DIR=/tmp/all .venv/bin/python -m pytest -p tests.sql_shapes -n 2 -m "postgres and not browser"
    SQL_SHAPES_DIR=/tmp/now .venv/bin/python -m pytest -p tests.sql_shapes -n 2 -m "postgres and not browser"
    .venv/bin/python -m tests.sql_shapes /tmp/all /tmp/now    # statements no test sends any more, and who did

Only the app's statements count: one sent from the tests' own code (a test reading back what was stored,
a fixture copying a template) is left out. A statement is reduced to its shape: parameters, literals, the
lengths of lists and the tests' random schema and table names taken out. Statements sent by processes a test starts (gunicorn, RQ workers) are
not seen; those tests name their backends themselves.
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

_current = {"test": ""}
_TYPE = r"(?:::[A-Z]+(?:\(N\))?(?:\[\])?)?"
_PATTERNS = [
    (re.compile(r'"?[A-Za-z_][A-Za-z_0-9]*_[0-9a-f]{10,12}(?:_[a-z]+)?"?'), "X"),  # unique(), run_id() names
    (re.compile(r"%\([^)]*\)s"), "?"),
    (re.compile(r"'(?:[^']|'')*'"), "'S'"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "N"),
    (re.compile(r"\bsa_savepoint_N\b"), "sp"),
    (re.compile(r"\s+"), " "),
    (re.compile(rf"\?{_TYPE}(?:, \?{_TYPE})+"), "?L"),
    (re.compile(r"\((?:\?L?|'S'|N)\)(?:, \((?:\?L?|'S'|N)\))+"), "(?)"),
]


def shape(statement: str) -> str:
    for pattern, replacement in _PATTERNS:
        statement = pattern.sub(replacement, statement)
    return statement.strip()


def pytest_configure(config):
    folder = os.environ.get("SQL_SHAPES_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    out = (Path(folder) / f"{worker}.jsonl").open("a", encoding="utf-8")
    seen: set[tuple[str, str]] = set()

    @event.listens_for(Engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001  (the event's signature)
        if conn.dialect.name != "postgresql" or _sent_by_a_test():
            return
        key = (_current["test"], shape(statement))
        if key not in seen:
            seen.add(key)
            out.write(json.dumps(key, ensure_ascii=False) + "\n")
            out.flush()


_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def _sent_by_a_test() -> bool:
    """Whether the statement comes from the tests' own code (a test reading what was stored, a fixture copying
    a template) rather than the app's: the innermost frame of the project's code decides."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_ROOT):
            return name[len(_ROOT):].startswith("tests/")
        frame = frame.f_back
    return False


def pytest_runtest_setup(item):
    _current["test"] = item.nodeid


def recorded(folder: Path) -> dict[str, set[str]]:
    """Shape -> the tests that sent it, from a folder this plugin wrote."""
    tests: dict[str, set[str]] = collections.defaultdict(set)
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            test, statement = json.loads(line)
            tests[shape(statement)].add(test)  # again: a recording made under older rules compares as well
    return tests


def main(reference: Path, now: Path) -> int:
    before, after = recorded(reference), recorded(now)
    missing = sorted(set(before) - set(after))
    for statement in missing:
        print(statement[:400])
        for test in sorted(before[statement])[:5]:
            print(f"    sent by {test}")
    print(f"{len(before)} shapes sent with every test on both backends; {len(after)} now; {len(missing)} no longer sent")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
