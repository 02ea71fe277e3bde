"""The expression language: parsing, XLSForm semantics, JSON trees and hostile input."""

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.expressions import (
    MAX_DEPTH,
    ExpressionError,
    evaluate,
    evaluate_bool,
    parse,
    references,
    uses_current,
)


@pytest.mark.parametrize(
    ("src", "values", "expected"),
    [
        ("${a} = 'yes'", {"a": "yes"}, True),
        ("${a} = 'yes'", {}, False),
        ("${a} = ''", {}, True),
        ("${a} != ''", {"a": "x"}, True),
        ("${age} >= 18 and ${age} < 60", {"age": 30}, True),
        ("${age} >= 18 and ${age} < 60", {"age": 60}, False),
        ("${age} > 17", {}, False),  # '' is NaN: every comparison is false
        ("${age} <= 17", {}, False),
        ("${yn} = 1", {"yn": "1"}, True),  # a number on one side compares numbers
        ("${n} = '10'", {"n": 10}, True),
        ("'10' = '10.0'", {}, False),  # two strings compare as strings
        ("not(${a} = 'x') or ${b} = 'y'", {"a": "x", "b": "y"}, True),
        ("not(${a} = 'x') or ${b} = 'y'", {"a": "x"}, False),
        ("selected(${m}, 'b')", {"m": ["a", "b"]}, True),
        ("selected(${m}, 'c')", {"m": ["a", "b"]}, False),
        ("selected(${m}, 'b')", {"m": "a b"}, True),
        ("selected(${m}, 'b')", {}, False),
        ("count-selected(${m}) >= 2", {"m": ["a", "b"]}, True),
        ("${d} < today()", {"d": "2001-02-03"}, True),
        ("${d} > '2001-02-02'", {"d": "2001-02-03"}, True),
        ("string-length(.) = 3", {}, False),
        ("1 + 2 * 3 = 7", {}, True),
        ("(1 + 2) * 3 = 9", {}, True),
        ("7 mod 3 = 1 and 7 div 2 = 3.5", {}, True),
        ("-${x} = -4", {"x": 4}, True),
        ("contains(${t}, 'ab') and starts-with(${t}, 'x')", {"t": "xabc"}, True),
        ("true() and not(false())", {}, True),
    ],
)
def test_boolean_semantics(src, values, expected):
    assert evaluate_bool(src, values) is expected


@pytest.mark.parametrize(
    ("src", "values", "expected"),
    [
        ("if(${n} > 0, round(${s} div ${n}, 1), 'none')", {"n": 3, "s": 10}, 3.3),
        ("if(${n} > 0, round(${s} div ${n}, 1), 'none')", {"n": 0, "s": 10}, "none"),
        ("coalesce(${a}, ${b})", {"b": "z"}, "z"),
        ("coalesce(${a}, ${b})", {"a": "y", "b": "z"}, "y"),
        ("concat(${a}, '-', 3, '-', 2.5)", {"a": "x"}, "x-3-2.5"),
        ("int(-2.7)", {}, -2.0),
        ("int('7.9')", {}, 7.0),
        ("number('12') + 1", {}, 13.0),
        ("round(2.5)", {}, 3.0),
        ("round(-2.5)", {}, -2.0),
        ("round(1234.5678, -2)", {}, 1200.0),
        ("count-selected(${m})", {"m": ["a", "b", "c"]}, 3.0),
        ("string-length(${t})", {"t": "Hà Nội"}, 6.0),
        ("max(1, ${x}, 3)", {"x": 7}, 7.0),
        ("count(${roster})", {"roster": [{"age": 3}, {"age": 40}]}, 2.0),
        ("sum(${age})", {"roster": [{"age": 3}, {"age": 40}]}, 43.0),
        ("2020 - ${by}", {"by": 1990}, 30.0),
    ],
)
def test_values(src, values, expected):
    assert evaluate(src, values) == expected


def test_number_edge_cases_do_not_raise():
    assert evaluate("1 div 0", {}) == math.inf
    assert evaluate("-1 div 0", {}) == -math.inf
    assert math.isnan(evaluate("0 div 0", {}))
    assert math.isnan(evaluate("5 mod 0", {}))
    assert math.isnan(evaluate("${a} + 1", {"a": "abc"}))
    assert evaluate("99999999999999999999999999999999999 * 99999999999999999999999999999999999", {}) > 1e60


def test_current_value():
    assert evaluate_bool(". >= 1920 and . <= 2011", {}, current=1980)
    assert not evaluate_bool(". >= 1920", {}, current=1900)
    assert uses_current(". > 1") and not uses_current("${a} > 1")


def test_regex_is_a_search_and_anchors_work():
    phone = "regex(., '^0[0-9]{9}$')"
    assert evaluate_bool(phone, {}, current="0912345678")
    assert not evaluate_bool(phone, {}, current="091234567")
    assert not evaluate_bool(phone, {}, current="09123456789")
    assert evaluate_bool("regex(${t}, 'an')", {"t": "Lan"})


def test_references_and_json_tree():
    src = "${a} = 'x' and selected(${m}, 'b') or -${n} > 2"
    assert references(src) == {"a", "m", "n"}
    tree = parse(src).to_json()
    assert tree["kind"] == "op" and tree["value"] == "or"
    assert tree["args"][0]["args"][1] == {
        "kind": "fn",
        "value": "selected",
        "args": [{"kind": "ref", "value": "m"}, {"kind": "str", "value": "b"}],
    }
    assert tree["args"][1]["args"][0] == {"kind": "op", "value": "neg", "args": [{"kind": "ref", "value": "n"}]}


def test_precedence_matches_xpath():
    # and binds tighter than or; comparison tighter than and; * tighter than +
    assert parse("${a} or ${b} and ${c}").value == "or"
    assert parse("1 + 2 * 3").args[1].value == "*"
    assert parse("${a} = 1 and ${b} = 2").value == "and"


@pytest.mark.parametrize(
    ("src", "fragment"),
    [
        ("", "empty"),
        ("${a} = ", "syntax"),
        ("${a} == 'x'", "syntax"),
        ("(${a} = 1", "expected ')'"),
        ("${a} = 1)", "syntax"),
        ("selected(${a})", "takes 2"),
        ("if(1, 2)", "takes 3"),
        ("foo(1)", "not supported"),
        ("age > 3", "not a function call"),
        ("/data/age > 3", "paths"),
        ("../age > 3", "paths"),
        ("${a b} = 1", "not a valid question reference"),
        ("${a} = 'x' & 1", "unexpected character"),
        ("__import__('os')", "not supported"),
        ("${a}.__class__", "syntax"),
        ("${a}[0]", "unexpected character"),
        ("lambda: 1", "unexpected character"),
        ("1" * 50, "too many digits"),
    ],
)
def test_bad_expressions_fail_cleanly(src, fragment, say):
    with pytest.raises(ExpressionError) as info:
        parse(src)
    assert info.value.message.code.startswith("expression.")
    assert fragment in say(info.value.message)
    assert say(info.value.message, "vi") != say(info.value.message)


def _bounded(fn, seconds=1.0):
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        fn()
    assert time.perf_counter() - start < seconds


def test_hostile_nesting_is_refused_quickly():
    _bounded(lambda: parse("(" * 300 + "1" + ")" * 300))
    _bounded(lambda: parse("not(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1)))
    _bounded(lambda: parse("-" * 700 + "1"))
    _bounded(lambda: parse(" + ".join(["${a}"] * 300)))
    _bounded(lambda: parse("1" + " + 1" * 100_000))
    assert evaluate("(" * 40 + "1" + ")" * 40, {}) == 1.0


def test_hostile_strings_are_bounded():
    long = "x" * 5000
    _bounded(lambda: evaluate("concat(${a}, ${a}, ${a})", {"a": long}))
    assert evaluate("string-length(${a})", {"a": long * 10}) == 50_000.0
    # a catastrophic-backtracking pattern runs in linear time, or is refused
    start = time.perf_counter()
    assert evaluate_bool("regex(${a}, '(a+)+b')", {"a": "a" * 2000}) is False
    assert time.perf_counter() - start < 2.0
    _bounded(lambda: evaluate("regex(${a}, '(a|b)\\1')", {"a": "aa"}))
    _bounded(lambda: evaluate("regex(${a}, '(?=a)')", {"a": "aa"}))
    _bounded(lambda: evaluate("regex(${a}, '(x{100}){100}')", {"a": "x"}))
    _bounded(lambda: evaluate("regex(${a}, 'a*')", {"a": "a" * 1_000_000}))


def test_values_are_data_not_objects():
    # a reference is a dict key, never an attribute or a name in Python
    assert evaluate("${__class__}", {}) == ""
    assert evaluate("${__builtins__}", {"x": 1}) == ""


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="${}()'\" .,=!<>+-*/abdivmodnotselected0123456789_", max_size=80))
def test_fuzz_never_raises_anything_but_expression_error(src):
    try:
        tree = parse(src)
    except ExpressionError:
        return
    try:
        evaluate(tree, {"a": "1", "b": ["x"], "ab": 3}, current="2")
    except ExpressionError:
        pass
