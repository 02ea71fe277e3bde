"""The ``regex()`` of skip logic, on Google's RE2, which cannot backtrack.

RE2 runs in time linear in the text whatever the pattern (``(a+)+b`` on a long string of ``a``
takes linear time instead of exponential) and in bounded memory, so an author's pattern is safe
to run on a respondent's answer. Matching is a *search*, as in ODK: anchor with ``^…$`` to require
the whole answer to match. Backreferences and lookaround are refused, as RE2 has none.

Two adaptations keep the meaning KhaoSat's own engine gave patterns before RE2 (and Python's
``re``): ``\\d``, ``\\w`` and ``\\s`` are Unicode-aware (RE2's are ASCII-only), so ``^\\w+$``
accepts "Nguyễn"; they are rewritten to Unicode classes. Differences from that engine: ``\\W``
and ``\\S`` inside ``[...]`` are refused; repeats up to {1000} are accepted (the old subset took
{100}). As in the browser's evaluator, ``(?…)`` groups other than ``(?:…)``, backreferences and
the escapes ``\\b \\B \\A \\Z \\z \\p \\P \\k \\u \\U \\x`` are refused; an escaped letter without a
meaning is the letter.
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN = 500  #: characters in a pattern
MAX_MEMORY = 8 << 20  #: bytes RE2 may use for one compiled pattern; a larger one is refused
MAX_WORK = 2_000_000  #: program size x text length; above this the match is refused, not attempted
_WORD = r"\p{L}\p{N}_"
_SPACE = r"\t\n\x0b\f\r\x1c-\x1f\x85\p{Z}"
_OUTSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": f"[{_WORD}]", "W": f"[^{_WORD}]", "s": f"[{_SPACE}]",
            "S": f"[^{_SPACE}]"}
_INSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": _WORD, "s": _SPACE}


class RegexError(ValueError):
    """A pattern RE2 cannot compile, one too long or too large, or a text too long for it."""


def _escape(letter: str, in_class: bool) -> str:
    """One escape as RE2 should read it: Unicode classes, the subset's refusals (backreferences,
    anchors and classes the browser's evaluator does not share), other letters as themselves."""
    table = _INSIDE if in_class else _OUTSIDE
    if in_class and letter in "WS":
        raise RegexError(f"\\{letter} inside [...] is not supported; use [^...] instead")
    if letter in table:
        return table[letter]
    if letter.isdigit() or letter in "bBAZzpPkuUx":
        raise RegexError(f"the escape '\\{letter}' is not supported")
    if letter in "ntrfv" or not letter.isalnum():
        return "\\" + letter
    return letter


def _unicode_classes(pattern: str) -> str:
    """``pattern`` with ``\\d \\w \\s`` (and negations) as Unicode classes, in and out of ``[...]``."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(_escape(pattern[i + 1], in_class))
            i += 2
            continue
        if ch == "(" and not in_class and pattern.startswith("?", i + 1) and not pattern.startswith("?:", i + 1):
            raise RegexError("lookaround and other (?…) groups are not supported")
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            i += 1
            for lead in ("^", "]"):  # a leading ] is a literal member
                if pattern.startswith(lead, i):
                    out.append(lead)
                    i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str):
    """The compiled RE2 program of ``pattern``; raises :class:`RegexError`."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"the pattern is longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.log_errors = False
    try:
        return re2.compile(_unicode_classes(pattern), options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "the pattern is not supported"
        raise RegexError(reason.decode() if isinstance(reason, bytes) else str(reason)) from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text``, in time linear in ``len(text)``."""
    program = compile_pattern(pattern)
    if program.programsize * (len(text) + 1) > MAX_WORK:
        raise RegexError("the text is too long for this pattern")
    return program.search(text) is not None
