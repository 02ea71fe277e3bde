"""Versions of an instrument: which questions can be pooled across versions in analysis.

A published version is frozen; a change makes a new version and every response keeps its own.
Analysis pools answers by question name only where the question is *unchanged*: same type, same
choice codes in the same order, same label in every language (and, for grids, the same scale).
"""

from __future__ import annotations

from surveys.schema import Instrument, Question


def question_unchanged(old: Question, new: Question) -> bool:
    """Whether answers to ``old`` and ``new`` mean the same thing and can be pooled."""
    return (
        old.name == new.name
        and old.type == new.type
        and [c.code for c in old.choices] == [c.code for c in new.choices]
        and old.label == new.label
        and old.correct == new.correct
    )


def poolable(old: Instrument, new: Instrument) -> set[str]:
    """Names of the variables (grid items included) unchanged between two versions."""
    before = {q.name: q for q in old.variables}
    return {q.name for q in new.variables if q.name in before and question_unchanged(before[q.name], q)}


def changes(old: Instrument, new: Instrument) -> dict[str, list[str]]:
    """Variables ``added``, ``removed`` and ``changed`` from ``old`` to ``new``."""
    before = {q.name: q for q in old.variables}
    after = {q.name: q for q in new.variables}
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(n for n in before.keys() & after.keys() if not question_unchanged(before[n], after[n])),
    }


def is_new_version_needed(old: Instrument, new: Instrument) -> bool:
    """Whether ``new`` differs from the published ``old`` in anything a respondent or analyst sees."""
    return old.source != new.source
