"""Scores and derived indicators of one response, computed as the instrument's ``scoring`` declares.

``scoring.blocks`` is a list run in order; each block adds named indicators (floats, or ``None``
when not assessable) that later blocks may combine. Methods:

* ``dsi_activities``: the Digital Skills Indicator 2.0 way. Yes/no activity items (code "1" = done
  in the last 3 months) are counted per DigComp area (from each item's competence); ``thresholds``
  give, per area, the counts for *basic* and *above basic*. Outputs ``<prefix>_area_<a>`` (0 none,
  1 basic, 2 above basic), ``<prefix>_level`` (0 no skills, 1 limited, 2 narrow, 3 low, 4 basic,
  5 above basic; ``None`` = not assessed, i.e. ``assessed_if`` is false: no internet use; every output
  is ``None`` when a question ``assessed_if`` refers to is unanswered),
  ``<prefix>_score`` (0-100: mean area level / 2; 0 for non-users) and ``headline`` (default
  ``at_least_basic``): 1 if level >= basic, 0 otherwise *including non-users*, as Eurostat counts.
* ``area_percent``: the DigCompSAT way. Likert items score (position on the scale)/(scale length-1),
  knowledge items 1 if right else 0; items not shown are left out. Outputs ``<prefix>_area_<a>`` and
  ``<prefix>_score`` as % of the maximum, and ``<prefix>_band_<a>`` / ``<prefix>_band`` (1 low,
  2 foundation, 3 intermediate, 4 advanced, from ``bands`` on the % rounded to a whole number).
* ``percent_correct``: share of knowledge items answered right -> ``output`` (0-100).
* ``top_box``: share of answered Likert items whose code is in ``top`` -> ``output`` (0-100).
* ``mean``: mean of earlier indicators (``of``: names, or names -> weights) -> ``output``; indicators
  that are ``None`` are left out and the weights rescaled.
* ``expression``: an expression on the answers -> ``output``; '' gives ``None``, true/false 1/0.

Item selectors in ``items`` are question names, or prefixes ending in ``*`` (``act_*``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveys import expressions
from surveys.evaluator import to_num
from surveys.questions import kind
from surveys.schema import Instrument, Question

#: the indicators' levels are codes: DSI level 0 (no digital skills) to 5 (above basic), area level 0-2,
#: self-assessment band 1-4; their names are the web layer's (web/research/derived.py)
DEFAULT_BANDS = [[0, 1], [30, 2], [48, 3], [81, 4]]
DSI_AREAS = ("1", "2", "3", "4", "5")
METHODS = ("dsi_activities", "area_percent", "percent_correct", "top_box", "mean", "expression")


@dataclass(frozen=True)
class Item:
    """One item a scoring block selects, with what scoring needs of it (worked out once, see :func:`plan`)."""

    question: Question
    area: str | None  #: its DigComp area, from its competence
    codes: tuple[str, ...]  #: its choices' codes that count, in order (the block's ``ignore`` left out)


def select(instrument: Instrument, selectors: Any) -> list[Question]:
    """The variables named by ``selectors`` (names, or prefixes ending in ``*``), in form order."""
    return _select(instrument.variables, selectors)


def _select(variables: tuple[Question, ...], selectors: Any) -> list[Question]:
    wanted = tuple(str(s) for s in (selectors if isinstance(selectors, list) else [selectors]))
    return [q for q in variables if any(q.name == s or (s.endswith("*") and q.name.startswith(s[:-1])) for s in wanted)]


def plan(variables: tuple[Question, ...], scoring: dict[str, Any]) -> tuple[tuple[Item, ...] | None, ...]:
    """Per block of a ``scoring`` section, the items it selects among ``variables``: run once, when the
    instrument is built (it becomes :attr:`Instrument.scoring_items`), as every response is scored. The
    blocks are not checked yet (:mod:`surveys.scoring_spec` does that next), so one that is not a mapping
    selects nothing."""
    blocks = scoring.get("blocks")
    if not isinstance(blocks, list):
        return ()
    return tuple(_items(variables, block) if isinstance(block, dict) else None for block in blocks)


def _ignored(block: dict) -> set[str]:
    """The codes a block leaves out (``ignore``: a list, or one code)."""
    ignore = block.get("ignore", [])
    return {str(c) for c in (ignore if isinstance(ignore, list) else [ignore])}


def _items(variables: tuple[Question, ...], block: dict) -> tuple[Item, ...]:
    ignored = _ignored(block)
    return tuple(Item(q, area_of(q), tuple(c.code for c in q.choices if c.code not in ignored))
                 for q in _select(variables, block.get("items", [])))


def area_of(q: Question) -> str | None:
    return q.competence.split(".")[0] if q.competence else None


def score(instrument: Instrument, values: Mapping[str, Any]) -> dict[str, float | None]:
    """The instrument's indicators for one response, e.g. ``{"dsi_index": 62.5, ...}``."""
    out: dict[str, float | None] = {}
    for block, items in zip(instrument.scoring.get("blocks") or [], instrument.scoring_items, strict=True):
        out.update(_METHODS[block.get("method")](block, items or (), values, out))
    return out


def _dsi(block: dict, items: tuple[Item, ...], values: Mapping[str, Any], _: dict) -> dict[str, float | None]:
    prefix = block.get("prefix", "dsi")
    headline = block.get("headline", "at_least_basic")
    assessed_if = block.get("assessed_if")
    out: dict[str, float | None] = {}
    if assessed_if:
        if any(values.get(name) in (None, "", []) for name in expressions.references(assessed_if)):
            keys = [f"{prefix}_area_{a}" for a in DSI_AREAS] + [f"{prefix}_level", f"{prefix}_score", headline]
            return dict.fromkeys(keys)
        if not expressions.evaluate_bool(assessed_if, values):
            out = {f"{prefix}_area_{a}": None for a in DSI_AREAS}
            return out | {f"{prefix}_level": None, f"{prefix}_score": 0.0, headline: 0.0}
    done = dict.fromkeys(DSI_AREAS, 0)
    for item in items:
        if item.area in done and values.get(item.question.name) == "1":
            done[item.area] += 1
    levels = {}
    for area in DSI_AREAS:
        basic, above = block["thresholds"][area]
        levels[area] = 2 if done[area] >= above else 1 if done[area] >= basic else 0
        out[f"{prefix}_area_{area}"] = float(levels[area])
    at_basic = sum(1 for v in levels.values() if v >= 1)
    level = 5 if all(v == 2 for v in levels.values()) else {5: 4, 4: 3, 3: 2, 2: 1}.get(at_basic, 0)
    out[f"{prefix}_level"] = float(level)
    out[f"{prefix}_score"] = 100.0 * sum(levels.values()) / (2 * len(DSI_AREAS))
    out[headline] = 1.0 if level >= 4 else 0.0
    return out


def item_score(q: Question, value: Any, ignore: frozenset[str] = frozenset()) -> float | None:
    """0-1 score of one answered item; ``None`` if unanswered or a code to ignore (e.g. "not applicable")."""
    return _item_score(q, value, tuple(c.code for c in q.choices if c.code not in ignore))


def _item_score(q: Question, value: Any, codes: tuple[str, ...]) -> float | None:
    """:func:`item_score` with the item's codes that count (in order) already listed."""
    if value is None or value == "" or value == []:
        return None
    if kind(q.type).keyed:
        chosen = set(value) if isinstance(value, list) else {str(value)}
        return 1.0 if chosen == set(q.correct) else 0.0
    if str(value) not in codes or len(codes) < 2:
        return None
    return codes.index(str(value)) / (len(codes) - 1)


def _band(percent: float | None, bands: list) -> float | None:
    if percent is None:
        return None
    whole = math.floor(percent + 0.5)
    return float(max(band for low, band in bands if whole >= low))


def _area_percent(block: dict, items: tuple[Item, ...], values: Mapping[str, Any], _: dict) -> dict:
    prefix = block.get("prefix", "sat")
    bands = block.get("bands", DEFAULT_BANDS)
    by_area: dict[str, list[float]] = {}
    for item in items:
        s = _item_score(item.question, values.get(item.question.name), item.codes)
        if s is not None and item.area:
            by_area.setdefault(item.area, []).append(s)
    out: dict[str, float | None] = {}
    for area in sorted({item.area for item in items if item.area}):
        scores = by_area.get(area)
        out[f"{prefix}_area_{area}"] = 100.0 * sum(scores) / len(scores) if scores else None
        out[f"{prefix}_band_{area}"] = _band(out[f"{prefix}_area_{area}"], bands)
    every = [s for scores in by_area.values() for s in scores]
    out[f"{prefix}_score"] = 100.0 * sum(every) / len(every) if every else None
    out[f"{prefix}_band"] = _band(out[f"{prefix}_score"], bands)
    return out


def _percent_correct(block: dict, items: tuple[Item, ...], values: Mapping[str, Any], _: dict) -> dict:
    knowledge = [item.question for item in items if kind(item.question.type).keyed]
    scores = [1.0 if item_score(q, values.get(q.name)) == 1.0 else 0.0 for q in knowledge if q.name in values]
    return {block["output"]: 100.0 * sum(scores) / len(scores) if scores else None}


def _top_box(block: dict, items: tuple[Item, ...], values: Mapping[str, Any], _: dict) -> dict:
    top = {str(c) for c in block.get("top", [])}
    ignore = _ignored(block)
    answered = [str(values[item.question.name]) for item in items if item.question.name in values]
    answered = [a for a in answered if a not in ignore]
    return {block["output"]: 100.0 * sum(a in top for a in answered) / len(answered) if answered else None}


def _mean(block: dict, _items: tuple[Item, ...], values: Mapping[str, Any], done: dict) -> dict:
    of = block.get("of", [])
    weights = of if isinstance(of, dict) else dict.fromkeys(of, 1.0)
    present = {k: float(w) for k, w in weights.items() if done.get(k) is not None}
    total = sum(present.values())
    value = sum(done[k] * w for k, w in present.items()) / total if total else None
    return {block["output"]: value}


def _expression(block: dict, _items: tuple[Item, ...], values: Mapping[str, Any], _: dict) -> dict:
    value = expressions.evaluate(block["expression"], values)
    if isinstance(value, bool):
        return {block["output"]: 1.0 if value else 0.0}
    if value == "":
        return {block["output"]: None}
    number = to_num(value)
    return {block["output"]: None if math.isnan(number) else number}


_METHODS = {
    "dsi_activities": _dsi,
    "area_percent": _area_percent,
    "percent_correct": _percent_correct,
    "top_box": _top_box,
    "mean": _mean,
    "expression": _expression,
}
