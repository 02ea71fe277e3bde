"""The browser's evaluator (web/static/expr.js, in Node) gives the server's values (surveys/evaluator.py).

Hypothesis writes expressions over every function the server knows (but today()/now(), which
tests/surveys/test_clock.py pins), each with every number of arguments it takes up to three, and answer
sets for them (a multiple choice, a repeat's rows and a field inside it); both evaluators run each case and
must agree, a failure on one side included. regex() is tested on the subset both engines share. Without
node the tests skip by name (tests.conftest.unavailable), which CI turns into a failure.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.expressions import FUNCTIONS
from tests.conftest import unavailable
from tests.exprjs import CASES, ExprJS, case, node_path, python, same

LETTERS = "abcxyzAZ019 _-.àếộ"
CODES = ("x", "y", "z", "1", "0")
#: regex pieces of the subset both engines share (classes, escapes, groups, alternation, quantifiers, anchors)
#: the functions the generated expressions call, by how many arguments each call gives
ARGUMENTS = {
    1: ("not", "int", "number", "string", "boolean", "string-length", "count-selected", "round", "count", "sum",
        "min", "max", "concat"),
    2: ("selected", "contains", "starts-with", "ends-with", "coalesce", "round", "min", "max", "concat", "regex"),
    3: ("if", "min", "max", "concat"),
}
#: not generated: the clock's functions (tests/surveys/test_clock.py pins them)
CLOCK = ("today", "now")
ATOMS = ("a", "b", "x", "1", ".", "\\d", "\\w", "\\s", "\\D", "[a-c]", "[^0-9]", "[\\d_]", "ế", "\\.", "-")
QUANTIFIERS = ("", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?")


@pytest.fixture(scope="module")
def js():
    node = node_path() or unavailable("node not found (Debian package nodejs)")
    runner = ExprJS(node)
    yield runner
    runner.close()


def _lit(text: str) -> str:
    return "'" + text + "'"


text_literals = st.text(LETTERS, max_size=6).map(_lit)
numbers = st.one_of(st.integers(-20, 20), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
                    st.sampled_from([0.1, 2.5, 1e15, 1e16, 1e-5, 123456.789]))
#: ``${r}`` is a repeat's rows, ``${n}`` and ``${k}`` fields inside it (seen from outside: their values over the rows)
refs = st.sampled_from(["${a}", "${b}", "${m}", "${d}", "${t}", "${e}", "${r}", "${n}", "${k}", "."])


@st.composite
def patterns(draw) -> str:
    pieces = draw(st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS)), min_size=1, max_size=4))
    body = "".join(a + q for a, q in pieces)
    if draw(st.booleans()):
        other = draw(st.sampled_from(ATOMS))
        body = f"(?:{body}|{other})" if draw(st.booleans()) else f"({body})|{other}"
    return ("^" if draw(st.booleans()) else "") + body + ("$" if draw(st.booleans()) else "")


def _calls(children):
    ops = st.sampled_from(["+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"])
    return st.one_of(
        st.builds(lambda f, x: f"{f}({x})", st.sampled_from(ARGUMENTS[1]), children),
        st.builds(lambda f, x, y: f"{f}({x}, {y})", st.sampled_from([f for f in ARGUMENTS[2] if f != "regex"]),
                  children, children),
        st.builds(lambda f, x, y, z: f"{f}({x}, {y}, {z})", st.sampled_from(ARGUMENTS[3]), children, children,
                  children),
        st.builds(lambda x, op, y: f"({x} {op} {y})", children, ops, children),
        st.builds(lambda x: f"-{x}", children),
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
    "r": st.lists(st.fixed_dictionaries({}, optional={
        # magnitudes where summing in order loses what math.fsum keeps, or overflows on the way
        "n": st.one_of(numbers, st.sampled_from(["", "3", " 2.5 ", "abc", "2020-05-17", -1e16, 1e308, -1e308])),
        "k": st.lists(st.sampled_from(CODES), max_size=2, unique=True).map(" ".join),
    }), max_size=4),
})


def test_the_generated_expressions_call_every_function_the_server_knows():
    generated = {f for names in ARGUMENTS.values() for f in names} | {"true", "false"}
    assert generated | set(CLOCK) == set(FUNCTIONS)
    for count, names in ARGUMENTS.items():
        for name in names:
            low, high = FUNCTIONS[name]
            assert low <= count and (high is None or count <= high), (name, count)


@given(batch=st.lists(st.tuples(expressions_, answers, st.one_of(st.none(), st.text(LETTERS, max_size=6))),
                      min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_generated_expressions_agree(js, batch):
    cases = [case(src, values, current) for src, values, current in batch]
    got = js.run(cases)
    for (src, values, current), theirs in zip(batch, got, strict=True):
        ours = python(src, values, current)
        assert same(ours, theirs), (src, values, current, ours, theirs)


#: a repeat field's values where summing in order and exactly differ, or where the sum overflows on the way
AMOUNTS = st.one_of(numbers, st.sampled_from([1e16, -1e16, 1.0, -1.0, 0.1, 1e308, -1e308, "", "2.5", "abc"]))


@given(batch=st.lists(st.tuples(st.sampled_from(["sum", "count", "min", "max"]), st.sampled_from(["${n}", "${r}"]),
                                st.lists(st.fixed_dictionaries({}, optional={"n": AMOUNTS}), max_size=6)),
                      min_size=1, max_size=40))
@settings(max_examples=40, deadline=None)
def test_aggregates_over_a_repeat_agree(js, batch):
    cases = [(f"{f}({ref})", {"r": rows}) for f, ref, rows in batch]
    got = js.run([case(src, values) for src, values in cases])
    for (src, values), theirs in zip(cases, got, strict=True):
        ours = python(src, values)
        assert same(ours, theirs), (src, values, ours, theirs)


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
