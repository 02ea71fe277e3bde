"""A small regular-expression engine that cannot backtrack: the ``regex()`` of skip logic.

Patterns are compiled to a Thompson NFA and run by simulating every state at once, so the work is
at most (number of states) x (length of text), whatever the pattern: ``(a+)+b`` on a long string of
``a`` takes linear time instead of exponential. The subset is what XLSForm authors write for
constraints: literals, ``.``, classes ``[a-z]`` / ``[^0-9]``, ``\\d \\w \\s`` (and negations),
anchors ``^ $``, groups ``( )`` / ``(?: )``, alternation ``|`` and quantifiers ``* + ? {n} {n,}
{n,m}`` (a trailing lazy ``?`` is accepted; it does not change whether a string matches).
Backreferences and lookaround are refused. Matching is a *search*, as in ODK: anchor with ``^…$``
to require the whole answer to match.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

MAX_PATTERN = 500  #: characters in a pattern
MAX_REPEAT = 100  #: largest n or m in {n,m}
MAX_STATES = 3000  #: NFA states after expanding counted repeats
MAX_WORK = 2_000_000  #: states x text length; above this the match is refused, not attempted
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_CLASS_ESCAPES = frozenset("dDwWsS")


class RegexError(ValueError):
    """A pattern outside the supported subset, or a match that would exceed the work bound."""


@dataclass(frozen=True)
class _Atom:
    """One character test: ``kind`` is 'lit', 'any', 'esc' (d/w/s...) or 'class'."""

    kind: str
    value: object = None
    negated: bool = False

    def test(self, ch: str) -> bool:
        if self.kind == "lit":
            return ch == self.value
        if self.kind == "any":
            return ch != "\n"
        if self.kind == "esc":
            return _escape_test(str(self.value), ch)
        hit = any(_item_test(item, ch) for item in self.value)  # type: ignore[attr-defined]
        return hit != self.negated


def _escape_test(letter: str, ch: str) -> bool:
    lower = letter.lower()
    if lower == "d":
        hit = ch.isdecimal()
    elif lower == "w":
        hit = ch.isalnum() or ch == "_"
    else:
        hit = ch.isspace()
    return hit if letter.islower() else not hit


def _item_test(item: tuple[str, str], ch: str) -> bool:
    lo, hi = item
    if lo == "\\":
        return _escape_test(hi, ch)
    return lo <= ch <= hi


class _Parser:
    """Pattern text -> a tree of tuples: ('atom', _Atom) ('bol',) ('eol',) ('cat', [...]),
    ('alt', [...]), ('rep', node, min, max|None), ('empty',)."""

    def __init__(self, pattern: str):
        self.s = pattern
        self.i = 0

    def parse(self) -> tuple:
        node = self.alternation()
        if self.i < len(self.s):
            raise RegexError(f"unexpected ')' at position {self.i + 1}")
        return node

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def alternation(self) -> tuple:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self) -> tuple:
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.atom()))
        return ("cat", items) if items else ("empty",)

    def atom(self) -> tuple:
        ch = self.s[self.i]
        self.i += 1
        if ch == "(":
            if self.s.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise RegexError("lookaround and other (?…) groups are not supported")
            node = self.alternation()
            if self.peek() != ")":
                raise RegexError("a '(' is not closed")
            self.i += 1
            return node
        if ch == "^":
            return ("bol",)
        if ch == "$":
            return ("eol",)
        if ch == ".":
            return ("atom", _Atom("any"))
        if ch == "[":
            return ("atom", self.char_class())
        if ch == "\\":
            return ("atom", self.escape())
        if ch in "*+?{":
            raise RegexError(f"nothing to repeat before '{ch}'")
        return ("atom", _Atom("lit", ch))

    def escape(self) -> _Atom:
        if self.i >= len(self.s):
            raise RegexError("the pattern ends with '\\'")
        ch = self.s[self.i]
        self.i += 1
        if ch in _CLASS_ESCAPES:
            return _Atom("esc", ch)
        if ch.isdigit() or ch in "bBAZzpPkuUx":
            raise RegexError(f"the escape '\\{ch}' is not supported")
        return _Atom("lit", _ESCAPES.get(ch, ch))

    def char_class(self) -> _Atom:
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        items: list[tuple[str, str]] = []
        first = True
        while True:
            if self.i >= len(self.s):
                raise RegexError("a '[' is not closed")
            ch = self.s[self.i]
            self.i += 1
            if ch == "]" and not first:
                return _Atom("class", tuple(items), negated)
            first = False
            if ch == "\\":
                esc = self.escape()
                if esc.kind == "esc":
                    items.append(("\\", str(esc.value)))
                    continue
                ch = str(esc.value)
            if self.peek() == "-" and self.i + 1 < len(self.s) and self.s[self.i + 1] != "]":
                hi = self.s[self.i + 1]
                self.i += 2
                if hi == "\\":
                    hi = str(self.escape().value)
                if hi < ch:
                    raise RegexError(f"the range '{ch}-{hi}' is reversed")
                items.append((ch, hi))
            else:
                items.append((ch, ch))

    def quantified(self, node: tuple) -> tuple:
        ch = self.peek()
        if ch in ("*", "+", "?"):
            self.i += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        elif ch == "{" and self._counted():
            low, high = self._counted_bounds()
        else:
            return node
        if self.peek() == "?":
            self.i += 1
        if self.peek() in ("*", "+", "?", "{") and (self.peek() != "{" or self._counted()):
            raise RegexError("two quantifiers in a row")
        if node[0] in ("bol", "eol"):
            raise RegexError("an anchor cannot be repeated")
        return ("rep", node, low, high)

    def _counted(self) -> bool:
        j = self.s.find("}", self.i)
        body = self.s[self.i + 1 : j] if j > 0 else ""
        parts = body.split(",")
        return j > 0 and len(parts) <= 2 and parts[0].isdigit() and all(p.isdigit() or p == "" for p in parts)

    def _counted_bounds(self) -> tuple[int, int | None]:
        j = self.s.find("}", self.i)
        parts = self.s[self.i + 1 : j].split(",")
        self.i = j + 1
        low = int(parts[0])
        high = low if len(parts) == 1 else (int(parts[1]) if parts[1] else None)
        if low > MAX_REPEAT or (high is not None and (high > MAX_REPEAT or high < low)):
            raise RegexError(f"counted repeats must be at most {MAX_REPEAT} and in order")
        return low, high


class _Builder:
    """Thompson construction: states are ('atom', _Atom, next) ('split', a, b) ('bol', next)
    ('eol', next) ('match',); a fragment is (start, list of dangling (state, slot))."""

    def __init__(self) -> None:
        self.states: list[list] = []

    def add(self, *state: object) -> int:
        if len(self.states) >= MAX_STATES:
            raise RegexError("the pattern is too large")
        self.states.append(list(state))
        return len(self.states) - 1

    def patch(self, outs: list[tuple[int, int]], target: int) -> None:
        for state, slot in outs:
            self.states[state][slot] = target

    def build(self, node: tuple) -> tuple[int, list[tuple[int, int]]]:
        kind = node[0]
        if kind == "atom":
            s = self.add("atom", node[1], None)
            return s, [(s, 2)]
        if kind in ("bol", "eol"):
            s = self.add(kind, None)
            return s, [(s, 1)]
        if kind == "empty":
            s = self.add("split", None, None)
            self.states[s][0] = "jump"
            return s, [(s, 1)]
        if kind == "cat":
            start, outs = self.build(node[1][0])
            for child in node[1][1:]:
                nxt, nouts = self.build(child)
                self.patch(outs, nxt)
                outs = nouts
            return start, outs
        if kind == "alt":
            frags = [self.build(child) for child in node[1]]
            start, outs = frags[0]
            for fstart, fouts in frags[1:]:
                start = self.add("split", start, fstart)
                outs = outs + fouts
            return start, outs
        return self.repeat(node[1], node[2], node[3])

    def repeat(self, child: tuple, low: int, high: int | None) -> tuple[int, list[tuple[int, int]]]:
        pieces = [self.build(child) for _ in range(low)]
        if high is None:
            loop_start, loop_outs = self.build(child)
            split = self.add("split", loop_start, None)
            self.patch(loop_outs, split)
            pieces.append((split, [(split, 2)]))
        else:
            for _ in range(high - low):
                fstart, fouts = self.build(child)
                split = self.add("split", fstart, None)
                pieces.append((split, fouts + [(split, 2)]))
        if not pieces:
            return self.build(("empty",))
        start, outs = pieces[0]
        for pstart, pouts in pieces[1:]:
            self.patch(outs, pstart)
            outs = pouts
        return start, outs


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> tuple[tuple, ...]:
    """Compile ``pattern`` to NFA states (index 0 is the start); raise :class:`RegexError`."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"the pattern is longer than {MAX_PATTERN} characters")
    tree = _Parser(pattern).parse()
    builder = _Builder()
    builder.add("jump", None)
    start, outs = builder.build(tree)
    builder.states[0][1] = start
    builder.patch(outs, builder.add("match"))
    return tuple(tuple(s) for s in builder.states)


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text``, in time linear in ``len(text)``."""
    states = compile_pattern(pattern)
    if len(states) * (len(text) + 1) > MAX_WORK:
        raise RegexError("the text is too long for this pattern")
    current: set[int] = set()
    for pos in range(len(text) + 1):
        if _closure(states, [0], pos, len(text), current):
            return True
        if pos == len(text):
            return False
        ch = text[pos]
        moved = [s[2] for i in current if (s := states[i])[0] == "atom" and s[1].test(ch)]
        current = set()
        if _closure(states, moved, pos + 1, len(text), current):
            return True
    return False


def _closure(states: tuple[tuple, ...], starts: list[int], pos: int, end: int, into: set[int]) -> bool:
    """Add the states reachable from ``starts`` without reading; True when one of them is 'match'."""
    stack = list(starts)
    seen: set[int] = set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        state = states[i]
        kind = state[0]
        if kind == "match":
            return True
        if kind == "jump":
            stack.append(state[1])
        elif kind == "split":
            stack.extend((state[1], state[2]))
        elif kind == "bol":
            if pos == 0:
                stack.append(state[1])
        elif kind == "eol":
            if pos == end:
                stack.append(state[1])
        else:
            into.add(i)
    return False
