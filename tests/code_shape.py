"""Code-shape checks run by ``make lint``: no function longer than ``MAX_LINES`` lines.

Complexity is ruff's C901 (``max-complexity`` in pyproject.toml); repeated blocks are found by
``duplicates`` where it is installed. A function's length counts its lines from ``def`` to its
last line, without its docstring (numpydoc parameter lists are documentation, not length), blank
lines and comments.

    python tests/code_shape.py            # list the functions over the limit; exit 1 if any
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("surveys", "analysis", "web")
MAX_LINES = 40
#: longer than the limit today and still to be split (each entry removed as it is); a new long
#: function fails at once. Empty: every function is within the limit.
TO_SPLIT: dict[str, set[str]] = {}


def _code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    skip: set[int] = set()
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        skip = set(range(first.lineno, first.end_lineno + 1))
    numbers = range(node.lineno, node.end_lineno + 1)
    return sum(1 for i in numbers if i not in skip and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#"))


def long_functions(max_lines: int = MAX_LINES) -> list[tuple[str, int, str, int]]:
    """(file, line, name, length) of every function over ``max_lines`` not waiting in :data:`TO_SPLIT`."""
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/versions/" in rel:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if node.name in TO_SPLIT.get(rel, ()):
                    continue
                length = _code_lines(lines, node)
                if length > max_lines:
                    out.append((rel, node.lineno, node.name, length))
    return sorted(out, key=lambda r: -r[3])


def main() -> int:
    found = long_functions()
    for rel, line, name, length in found:
        print(f"{rel}:{line}: {name} has {length} lines (at most {MAX_LINES})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
