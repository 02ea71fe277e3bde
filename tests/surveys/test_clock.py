"""today() and now() in the survey's time zone: one test vector, run through the Python evaluator and
through web/static/expr.js in Node where it is installed (tests/browser/test_clock_browser.py runs it
in Chromium)."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from surveys import clock, expressions
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests/fixtures/expressions/clock_vectors.json").read_text())["cases"]
EXPR_JS = (ROOT / "web/static/expr.js").read_text()
IDS = [f"{c['zone']}-{c['instant']}-{c['expression']}" for c in VECTORS]


def _instant(case: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(case["instant"].replace("Z", "+00:00"))


def _same(got, expected) -> bool:
    if expected == "NaN":  # JavaScript's NaN comes back from the runner as the string "NaN"
        return got == "NaN" or (isinstance(got, float) and math.isnan(got))
    if isinstance(expected, bool) or isinstance(expected, str):
        return got == expected
    return isinstance(got, int | float) and not isinstance(got, bool) and math.isclose(got, expected, abs_tol=1e-9)


def _js_cases() -> list[dict]:
    return [{"instant": c["instant"], "zone": c["zone"], "tree": expressions.parse(c["expression"]).to_json()}
            for c in VECTORS]


#: runs every case in expr.js with its clock stopped at the case's instant; NaN comes back as "NaN"
JS_RUNNER = """
(cases) => cases.map((c) => {
  KSExpr.clock = () => new Date(c.instant);
  KSExpr.timeZone = c.zone;
  const v = KSExpr.evaluate(c.tree, {});
  return typeof v === "number" && isNaN(v) ? "NaN" : v;
})
"""


@pytest.mark.parametrize("case", VECTORS, ids=IDS)
def test_python_evaluator_reads_the_survey_clock(case):
    with clock.use(case["zone"], _instant(case)):
        got = expressions.evaluate(case["expression"], {})
    assert _same(got, case["expected"]), (case, got)


def test_default_zone_is_hanoi_and_a_day_starts_at_midnight_there():
    with clock.use(instant=dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)):
        assert expressions.evaluate("today()", {}) == "2026-11-26"


def test_expr_js_in_node_gives_the_same_values():
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed (Debian's nodejs; the same vector also runs in Chromium)")
    script = ("global.window = global;\n" + EXPR_JS + "\nconst cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
              + f"process.stdout.write(JSON.stringify(({JS_RUNNER})(cases)));")
    out = subprocess.run([node, "-e", script], input=json.dumps(_js_cases()), capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert not disagreements(json.loads(out))


def disagreements(results: list) -> list[tuple]:
    """The cases whose JavaScript result differs from the vector."""
    return [(c["expression"], c["zone"], got) for c, got in zip(VECTORS, results, strict=True)
            if not _same(got, c["expected"])]
