"""Checks on an instrument's ``scoring`` section, run when it loads (see :mod:`surveys.scoring`)."""

from __future__ import annotations

from typing import Any

from surveys import expressions
from surveys.schema import Instrument

#: who a survey's personal result speaks to (which next steps it gives)
AUDIENCES = ("residents", "officials")
_NEEDS_OUTPUT = ("percent_correct", "top_box", "mean", "expression")
_ITEM_TYPES = {
    "dsi_activities": {"yesno"},
    "area_percent": {"likert", "knowledge"},
    "percent_correct": {"knowledge"},
    "top_box": {"likert", "single"},
}


def problems(instrument: Instrument) -> list[str]:
    blocks = instrument.scoring.get("blocks")
    unknown = set(instrument.scoring) - {"blocks", "note", "notes", "audience"}
    out = [f"unknown key '{k}' (use 'blocks', 'note' and 'audience')" for k in sorted(unknown)]
    if instrument.scoring.get("audience", "residents") not in AUDIENCES:
        out.append(f"'audience' must be one of {', '.join(AUDIENCES)} (who the personal result speaks to)")
    if blocks is None:
        return out
    if not isinstance(blocks, list):
        return out + ["'blocks' must be a list"]
    made: set[str] = set()
    for i, block in enumerate(blocks):
        out.extend(f"blocks[{i}]: {p}" for p in _block(instrument, block, made))
    return out


def _block(instrument: Instrument, block: Any, made: set[str]) -> list[str]:
    from surveys.scoring import DSI_AREAS, METHODS, select

    if not isinstance(block, dict):
        return ["a block must be a mapping"]
    method = block.get("method")
    if method not in METHODS:
        return [f"unknown method '{method}' (one of {', '.join(METHODS)})"]
    out = []
    if method in _NEEDS_OUTPUT and not isinstance(block.get("output"), str):
        out.append(f"'{method}' needs an 'output' name")
    if method in _ITEM_TYPES:
        items = select(instrument, block.get("items", []))
        if not items:
            out.append(f"'items' {block.get('items')!r} selects no question")
        for q in items:
            if q.type not in _ITEM_TYPES[method]:
                out.append(f"'{q.name}' is a {q.type} question; '{method}' scores {sorted(_ITEM_TYPES[method])}")
            if method in ("dsi_activities", "area_percent") and not q.competence:
                out.append(f"'{q.name}' has no competence, so no area")
    if method == "dsi_activities":
        thresholds = block.get("thresholds")
        if not isinstance(thresholds, dict) or any(
            not (isinstance(thresholds.get(a), list) and len(thresholds[a]) == 2
                 and all(isinstance(n, int) and n >= 1 for n in thresholds[a]) and thresholds[a][0] <= thresholds[a][1])
            for a in DSI_AREAS
        ):
            out.append("'thresholds' must give [basic, above basic] counts for areas 1-5")
    for key in ("assessed_if", "expression"):
        if block.get(key) is not None:
            out.extend(_expression(instrument, block[key], key))
    if method == "mean":
        of = block.get("of")
        names = list(of) if isinstance(of, dict | list) else []
        if not names:
            out.append("'of' must list earlier indicators")
        out.extend(f"'{n}' is not an earlier indicator" for n in names if n not in made)
    made.update(_outputs(instrument, block))
    return out


def _expression(instrument: Instrument, src: Any, key: str) -> list[str]:
    try:
        refs = expressions.references(str(src))
    except expressions.ExpressionError as exc:
        return [f"'{key}': {exc.detail['en']}"]
    names = {q.name for q in instrument.variables} | {q.name for q in instrument.questions}
    return [f"'{key}' refers to unknown question '{r}'" for r in sorted(refs - names)]


def _outputs(instrument: Instrument, block: dict) -> set[str]:
    """The indicator names a block produces (empty for a broken one)."""
    from surveys.scoring import DSI_AREAS, area_of, select

    method = block.get("method")
    prefix = block.get("prefix", "dsi" if method == "dsi_activities" else "sat")
    if method == "dsi_activities":
        return {f"{prefix}_area_{a}" for a in DSI_AREAS} | {
            f"{prefix}_level", f"{prefix}_score", block.get("headline", "at_least_basic")}
    if method == "area_percent":
        areas = {area_of(q) for q in select(instrument, block.get("items", [])) if q.competence}
        return ({f"{prefix}_area_{a}" for a in areas} | {f"{prefix}_band_{a}" for a in areas}
                | {f"{prefix}_score", f"{prefix}_band"})
    return {block["output"]} if isinstance(block.get("output"), str) else set()


def indicator_names(instrument: Instrument) -> list[str]:
    """Every indicator ``score()`` returns for this instrument, in block order."""
    names: list[str] = []
    for block in instrument.scoring.get("blocks") or []:
        names.extend(sorted(_outputs(instrument, block) - set(names)))
    return names
