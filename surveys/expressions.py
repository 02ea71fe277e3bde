"""Skip logic, constraints and calculations in the XLSForm expression syntax, parsed by our own parser.

The language is the part of XPath 1.0 that XLSForm authors write::

    ${age} >= 18 and (selected(${devices}, 'phone') or ${internet} = '1')
    if(${n} > 0, round(${spend} div ${n}, 1), '')        regex(., '^0[0-9]{9}$')

Source text is tokenised, parsed by recursive descent into a small immutable tree of :class:`Node`
(JSON-serialisable with :meth:`Node.to_json`, for the offline client) and evaluated by
:mod:`surveys.evaluator` on a dict of answers. Nothing here calls ``eval`` or touches Python objects:
a reference ``${q}`` is a key looked up in the answers dict and nothing else. Length, token count and
nesting depth are bounded, so hostile input fails with :class:`ExpressionError` in bounded time.

Why hand-written: safety and exactness. Safety: no general expression library limits what an
author's text may reach (Python's ``eval``/``ast`` evaluators expose objects); pyxform only
translates XLSForm to XPath and runs nothing. Exactness: the same tree is evaluated in the browser
(``expr.js``), so the language must be exactly XLSForm's subset, with its semantics for empty answers,
multiple-choice lists and dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from surveys.evaluator import Evaluator, compiled, to_bool
from surveys.expression_tree import ExpressionError, Node

MAX_SOURCE = 4000  #: characters in one expression
MAX_TOKENS = 800
MAX_DEPTH = 48  #: nesting depth of the parsed tree
MAX_NUMBER_CHARS = 40

#: function name -> (fewest, most) arguments; ``None`` = any number
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "if": (3, 3),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "string-length": (1, 1),
    "regex": (2, 2),
    "coalesce": (2, 2),
    "concat": (1, None),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "today": (0, 0),
    "now": (0, 0),
    "int": (1, 1),
    "number": (1, 1),
    "string": (1, 1),
    "boolean": (1, 1),
    "round": (1, 2),
    "min": (1, None),
    "max": (1, None),
    "count": (1, 1),
    "sum": (1, 1),
}
BINARY_OPS = ("or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod")

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[^}]*)\})
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|[=<>+\-*(),])
  | (?P<dots>\.\.|\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:[-:.][A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<path>/)
    """,
    re.VERBOSE,
)
_REF_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")  #: as surveys.loader.NAME_RE


def _node(kind: str, value: Any, args: tuple[Node, ...]) -> Node:
    depth = 1 + max((a.depth for a in args), default=0)
    if depth > MAX_DEPTH:
        raise ExpressionError("too_deep", limit=MAX_DEPTH)
    return Node(kind, value, args, depth)


def tokenize(src: str) -> list[tuple[str, str]]:
    """The tokens of ``src`` as (kind, text) pairs; kinds: ref num str op cur name."""
    if not isinstance(src, str):
        raise ExpressionError("not_text")
    if len(src) > MAX_SOURCE:
        raise ExpressionError("too_long", limit=MAX_SOURCE)
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if m is None:
            ch = src[pos]
            raise ExpressionError("bad_character", character=ch, position=pos + 1)
        pos = m.end()
        kind = m.lastgroup
        if kind == "space":
            continue
        tokens.append(_classify(m, kind or ""))
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError("too_many_tokens")
    return tokens


def _classify(m: re.Match[str], kind: str) -> tuple[str, str]:
    text = m.group(0)
    if kind == "ref":
        name = m.group("refname").strip()
        if not _REF_NAME_RE.match(name):
            raise ExpressionError("bad_reference", text=text[:60])
        return "ref", name
    if kind == "number":
        if len(text) > MAX_NUMBER_CHARS:
            raise ExpressionError("too_many_digits")
        return "num", text
    if kind == "string":
        return "str", text[1:-1]
    if kind == "dots":
        if text == "..":
            raise _unsupported_path(text)
        return "cur", text
    if kind == "path":
        raise _unsupported_path(text)
    return kind, text


def _unsupported_path(text: str) -> ExpressionError:
    return ExpressionError("xpath_path", text=text)


class _Parser:
    """Recursive descent over the token list, lowest precedence first (XPath 1.0 order)."""

    LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"))

    def __init__(self, tokens: list[tuple[str, str]], columns: frozenset[str] = frozenset()):
        self.columns = columns
        self.tokens = tokens
        self.i = 0
        self.nesting = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        kind, got = self.take()
        if got != text or kind not in ("op", "name"):
            raise _syntax(got, expected=text)

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("empty")
        node = self.binary(0)
        if self.i < len(self.tokens):
            raise _syntax(self.peek()[1])
        return node

    def binary(self, level: int) -> Node:
        if level == 0:
            self.nesting += 1
            if self.nesting > MAX_DEPTH:
                raise ExpressionError("too_deep", limit=MAX_DEPTH)
            node = self.binary(1)
            while self.peek() == ("name", "or"):
                self.take()
                node = _node("op", "or", (node, self.binary(1)))
            self.nesting -= 1
            return node
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek()[0] in ("op", "name") and self.peek()[1] in self.LEVELS[level]:
            op = self.take()[1]
            node = _node("op", op, (node, self.binary(level + 1)))
        return node

    def unary(self) -> Node:
        signs = 0
        while self.peek() == ("op", "-"):
            self.take()
            signs += 1
        node = self.primary()
        for _ in range(signs):
            node = _node("op", "neg", (node,))
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return _node("num", float(text), ())
        if kind == "str":
            return _node("str", text, ())
        if kind == "ref":
            return _node("ref", text, ())
        if kind == "cur":
            return _node("cur", None, ())
        if (kind, text) == ("op", "("):
            inner = self.binary(0)
            self.expect(")")
            return inner
        if kind == "name":
            return self.call(text)
        raise _syntax(text)

    def call(self, name: str) -> Node:
        if name in self.columns and self.peek() != ("op", "("):
            return _node("col", name, ())
        if self.peek() != ("op", "("):
            raise ExpressionError("not_a_call", name=name)
        if name not in FUNCTIONS:
            raise ExpressionError("unknown_function", name=name)
        self.take()
        args: list[Node] = []
        if self.peek() != ("op", ")"):
            args.append(self.binary(0))
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.binary(0))
        self.expect(")")
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            want = str(low) if low == high else f"{low}-{high}" if high is not None else f"{low}+"
            raise ExpressionError("argument_count", name=name, want=want, got=len(args))
        return _node("fn", name, tuple(args))


def _syntax(near: str, expected: str = "") -> ExpressionError:
    """A syntax error at ``near`` (empty: at the end), where ``expected`` was wanted if given."""
    if expected:
        return ExpressionError("expected", expected=expected, near=near[:40]) if near else \
            ExpressionError("expected_at_end", expected=expected)
    return ExpressionError("unexpected", near=near[:40]) if near else ExpressionError("unexpected_end")


@lru_cache(maxsize=4096)
def parse(src: str, columns: frozenset[str] = frozenset()) -> Node:
    """Parse ``src`` into a tree; raise :class:`ExpressionError` with a bilingual reason.

    ``columns`` are bare names allowed in a ``choice_filter`` (a choice's own columns, kind ``col``).
    """
    return _Parser(tokenize(src), columns).parse()


def references(src: str | Node) -> set[str]:
    """The question names that ``src`` refers to with ``${name}``."""
    tree = parse(src) if isinstance(src, str) else src
    return {n.value for n in tree.walk() if n.kind == "ref"}


def uses_current(src: str | Node) -> bool:
    """Whether ``src`` mentions ``.``, the answer being checked."""
    tree = parse(src) if isinstance(src, str) else src
    return any(n.kind == "cur" for n in tree.walk())


def evaluate(
    src: str | Node, values: Mapping[str, Any], current: Any = None, row: Mapping[str, str] | None = None
) -> Any:
    """The value of ``src`` on ``values`` (question name -> answer); ``current`` is ``.``.

    A missing answer counts as '' (empty), as in XLSForm. ``row`` gives the ``col`` values of a
    choice (for ``choice_filter``). Raises :class:`ExpressionError`.
    """
    tree = parse(src) if isinstance(src, str) else src
    return compiled(tree)(Evaluator(values, current, row))


def evaluate_bool(
    src: str | Node, values: Mapping[str, Any], current: Any = None, row: Mapping[str, str] | None = None
) -> bool:
    """``evaluate`` converted to a boolean as XPath's ``boolean()`` does."""
    return to_bool(evaluate(src, values, current, row))
