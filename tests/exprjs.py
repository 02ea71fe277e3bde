"""web/static/expr.js run headless in Node, one process for many cases (for parity tests with the server).

:class:`ExprJS` starts ``node`` once, sends a batch of cases per line of JSON, and reads one line of
results back; NaN and infinities travel as ``{"num": "NaN"}``, an exception as ``{"error": message}``.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

from surveys import expressions

EXPR_JS = (Path(__file__).resolve().parents[1] / "web/static/expr.js").read_text(encoding="utf-8")
#: hand-picked cases (tests/surveys/test_expr_parity.py runs them in Node, tests/browser/test_skip_logic_browser.py
#: in Chromium)
CASES = [
    ("${a} >= 18 and ${b} = '1'", {"a": 20, "b": "1"}),
    ("${a} >= 18", {"a": ""}),
    ("${a} = 18", {"a": "18"}),
    ("${a} != 'none' and ${a} != ''", {"a": "none"}),
    ("${a} != 'none' and ${a} != ''", {}),
    ("selected(${m}, 'x') and not(selected(${m}, 'y'))", {"m": ["x", "z"]}),
    ("count-selected(${m}) <= 2", {"m": ["x", "y", "z"]}),
    ("if(${a} > 0, round(${b} div ${a}, 1), '')", {"a": 3, "b": 10}),
    ("if(${a} > 0, 1, 0)", {"a": ""}),
    ("${d} < today() and ${d} > '2000-01-01'", {"d": "2020-05-17"}),
    ("concat(${a}, '-', string-length(${b}))", {"a": "x", "b": "abcd"}),
    ("coalesce(${a}, ${b}) = 'y'", {"a": "", "b": "y"}),
    ("${a} mod 3 = 1 or -${a} = 4", {"a": 4}),
    ("${a} div 0", {"a": 1}),
    ("0 div 0", {}),
    ("max(${a}, 3, ${b}) + min(1, 2)", {"a": 5, "b": 2}),
    ("int(7.9) + number('2.5') + sum(${r})", {"r": [{"n": 1}, {"n": 2}], "n": None}),
    ("count(${rows}) = 2 and boolean(${x})", {"rows": [{"k": 1}, {"k": 2}], "x": "0"}),
    ("contains(${t}, 'ab') and starts-with(${t}, 'x') and ends-with(${t}, 'z')", {"t": "xabz"}),
    ("true() = 1 and false() != 'x'", {}),
    # sum() is exact, as math.fsum: in order, 1e16 + 1 - 1e16 would be 0; a sum overflowing on the way is NaN
    ("sum(${n})", {"r": [{"n": 1e16}, {"n": 1}, {"n": -1e16}]}),
    ("sum(${n})", {"r": [{"n": 1e308}, {"n": 1e308}, {"n": -1e308}]}),
    ("sum(${n}) + count(${n}) + count(${k})", {"r": [{"n": ""}, {"n": "2.5"}, {"k": "x"}]}),
]
RUNNER = """
global.window = global;
%s
function enc(v) {
  if (typeof v === "number" && !isFinite(v)) return { num: isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity" };
  return v;
}
require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const out = JSON.parse(line).map((c) => {
    try { return enc(KSExpr.evaluate(c.tree, c.values, c.current, c.row)); }
    catch (e) { return { error: String(e && e.message) }; }
  });
  process.stdout.write(JSON.stringify(out) + "\\n");
});
"""


def node_path() -> str | None:
    return shutil.which("node")


class ExprJS:
    """A Node process holding expr.js."""

    def __init__(self, node: str):
        self.proc = subprocess.Popen([node, "-e", RUNNER % EXPR_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="utf-8")

    def run(self, cases: list[dict[str, Any]]) -> list[Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cases) + "\n")
        self.proc.stdin.flush()
        return [decode(v) for v in json.loads(self.proc.stdout.readline())]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def decode(v: Any) -> Any:
    if isinstance(v, dict) and "num" in v:
        return float(v["num"].replace("Infinity", "inf"))
    if isinstance(v, dict) and "error" in v:
        return Failed()
    return v


class Failed:
    """An evaluation that raised (the server's ExpressionError, a JavaScript Error)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failed)

    def __repr__(self) -> str:
        return "Failed()"


def python(src: str, values: dict[str, Any], current: Any = None, row: dict[str, str] | None = None) -> Any:
    """The server's value of ``src``, or :class:`Failed`."""
    try:
        tree = expressions.parse(src, frozenset(row or ()))
        return expressions.evaluate(tree, values, current, row)
    except expressions.ExpressionError:
        return Failed()


def case(src: str, values: dict[str, Any], current: Any = None, row: dict[str, str] | None = None) -> dict[str, Any]:
    return {"tree": expressions.parse(src, frozenset(row or ())).to_json(), "values": values, "current": current,
            "row": row}


def same(py: Any, js: Any) -> bool:
    """Python's and JavaScript's results agree (numbers to a relative 1e-9; NaN equals NaN)."""
    if isinstance(py, Failed) or isinstance(js, Failed):
        return py == js
    if isinstance(py, bool) or isinstance(js, bool):
        return py is js
    if isinstance(py, int | float) and isinstance(js, int | float):
        if math.isnan(py) or math.isnan(js):
            return math.isnan(py) and math.isnan(js)
        return py == js or math.isclose(py, js, rel_tol=1e-9)
    return py == js
