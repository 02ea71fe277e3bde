"""The browser's evaluator (web/static/expr.js, in Node) gives the server's values (surveys/evaluator.py).

Hypothesis writes expressions over every function the server knows (but today()/now(), which
tests/surveys/test_clock.py pins) and answer sets for them; both evaluators run each case and must
agree, a failure on one side included. regex() is tested on the subset both engines share.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.exprjs import CASES, ExprJS, case, node_path, python, same

pytestmark = pytest.mark.skipif(node_path() is None, reason="node is not installed (Debian package nodejs)")

LETTERS = "abcxyzAZ019 _-.àếộ"
CODES = ("x", "y", "z", "1", "0")
#: regex pieces of the subset both engines share (classes, escapes, groups, alternation, quantifiers, anchors)
ATOMS = ("a", "b", "x", "1", ".", "\\d", "\\w", "\\s", "\\D", "[a-c]", "[^0-9]", "[\\d_]", "ế", "\\.", "-")
QUANTIFIERS = ("", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?")


@pytest.fixture(scope="module")
def js():
    runner = ExprJS(node_path() or "node")
    yield runner
    runner.close()


def _lit(text: str) -> str:
    return "'" + text + "'"


text_literals = st.text(LETTERS, max_size=6).map(_lit)
numbers = st.one_of(st.integers(-20, 20), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
                    st.sampled_from([0.1, 2.5, 1e15, 1e16, 1e-5, 123456.789]))
refs = st.sampled_from(["${a}", "${b}", "${m}", "${d}", "${t}", "${e}", "."])


@st.composite
def patterns(draw) -> str:
    pieces = draw(st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS)), min_size=1, max_size=4))
    body = "".join(a + q for a, q in pieces)
    if draw(st.booleans()):
        other = draw(st.sampled_from(ATOMS))
        body = f"(?:{body}|{other})" if draw(st.booleans()) else f"({body})|{other}"
    return ("^" if draw(st.booleans()) else "") + body + ("$" if draw(st.booleans()) else "")


def _calls(children):
    one = st.sampled_from(["not", "int", "number", "string", "boolean", "string-length", "count-selected", "round"])
    two = st.sampled_from(["selected", "contains", "starts-with", "ends-with", "coalesce", "round", "min", "max"])
    ops = st.sampled_from(["+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"])
    return st.one_of(
        st.builds(lambda f, x: f"{f}({x})", one, children),
        st.builds(lambda f, x, y: f"{f}({x}, {y})", two, children, children),
        st.builds(lambda x, op, y: f"({x} {op} {y})", children, ops, children),
        st.builds(lambda x: f"-{x}", children),
        st.builds(lambda c, x, y: f"if({c}, {x}, {y})", children, children, children),
        st.builds(lambda x, y, z: f"concat({x}, {y}, {z})", children, children, children),
        st.builds(lambda x, p: f"regex({x}, {_lit(p)})", children, patterns()),
        st.sampled_from(["true()", "false()"]),
    )


number_literals = numbers.map(lambda x: str(x) if isinstance(x, int) else f"{x:.6f}")
expressions_ = st.recursive(st.one_of(text_literals, number_literals, refs), _calls, max_leaves=8)
answers = st.fixed_dictionaries({}, optional={
    "a": st.one_of(numbers, st.sampled_from(["", "18", " 7 ", "abc", "2.5"])),
    "b": st.text(LETTERS, max_size=8),
    "m": st.lists(st.sampled_from(CODES), max_size=3, unique=True),
    "d": st.sampled_from(["", "2020-05-17", "1999-12-31", "2024-02-30", "2026-01-01T10:30", "08:30",
                              "23:59:59", "24:00"]),
    "t": st.text(LETTERS, max_size=12),
    "e": st.sampled_from(["x@y.vn", "090 123 4567", "+84912345678", "no"]),
})


@given(batch=st.lists(st.tuples(expressions_, answers, st.one_of(st.none(), st.text(LETTERS, max_size=6))),
                      min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_generated_expressions_agree(js, batch):
    cases = [case(src, values, current) for src, values, current in batch]
    got = js.run(cases)
    for (src, values, current), theirs in zip(batch, got, strict=True):
        ours = python(src, values, current)
        assert same(ours, theirs), (src, values, current, ours, theirs)


@given(batch=st.lists(st.tuples(patterns(), st.text(LETTERS, max_size=10)), min_size=1, max_size=40))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_regex_subset_agrees(js, batch):
    got = js.run([case("regex(${t}, ${p})", {"t": text, "p": pattern}) for pattern, text in batch])
    for (pattern, text), theirs in zip(batch, got, strict=True):
        ours = python("regex(${t}, ${p})", {"t": text, "p": pattern})
        assert same(ours, theirs), (pattern, text, ours, theirs)


def test_outside_the_subset_both_refuse(js):
    for pattern in ("(a)\\1", "(?=a)a", "(?<n>a)", "a(?!b)"):
        ours = python("regex('aa', ${p})", {"p": pattern})
        theirs = js.run([case("regex('aa', ${p})", {"p": pattern})])[0]
        assert same(ours, theirs), (pattern, ours, theirs)


def test_hand_picked_cases_agree(js):
    got = js.run([case(src, values) for src, values in CASES])
    for (src, values), theirs in zip(CASES, got, strict=True):
        ours = python(src, {k: v for k, v in values.items() if v is not None})
        assert same(ours, theirs), (src, values, ours, theirs)


def test_a_choice_filter_reads_the_choice_columns(js):
    src, row = "province = ${p} and regex(name, '^H')", {"province": "1", "name": "Hà Nội"}
    got = js.run([case(src, {"p": 1}, row=row), case(src, {"p": 2}, row=row)])
    assert got == [python(src, {"p": 1}, row=row), python(src, {"p": 2}, row=row)] == [True, False]
