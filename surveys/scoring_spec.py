"""Checks on an instrument's ``scoring`` section, run when it loads (by :mod:`surveys.validate`; the
methods themselves are in :mod:`surveys.scoring`)."""

from __future__ import annotations

from typing import Any

from surveys import expressions
from surveys.messages import Message
from surveys.schema import Instrument
from surveys.scoring import DSI_AREAS, METHODS, area_of, select

#: who a survey's personal result speaks to (which next steps it gives)
AUDIENCES = ("residents", "officials")
_NEEDS_OUTPUT = ("percent_correct", "top_box", "mean", "expression")
_ITEM_TYPES = {
    "dsi_activities": {"yesno"},
    "area_percent": {"likert", "knowledge"},
    "percent_correct": {"knowledge"},
    "top_box": {"likert", "single"},
}


def _why(code: str, **params: Any) -> Message:
    return Message(f"scoring.{code}", params)


def problems(instrument: Instrument) -> list[Message]:
    blocks = instrument.scoring.get("blocks")
    unknown = set(instrument.scoring) - {"blocks", "note", "notes", "audience"}
    out = [_why("unknown_key", key=k) for k in sorted(unknown)]
    if instrument.scoring.get("audience", "residents") not in AUDIENCES:
        out.append(_why("bad_audience", allowed=", ".join(AUDIENCES)))
    if blocks is None:
        return out
    if not isinstance(blocks, list):
        return out + [_why("blocks_not_a_list")]
    made: set[str] = set()
    for i, block in enumerate(blocks):
        out.extend(_why("in_block", block=i, detail=p) for p in _block(instrument, block, made))
    return out


def _block(instrument: Instrument, block: Any, made: set[str]) -> list[Message]:
    if not isinstance(block, dict):
        return [_why("block_not_a_mapping")]
    method = block.get("method")
    if method not in METHODS:
        return [_why("unknown_method", method=method, allowed=", ".join(METHODS))]
    out = []
    if method in _NEEDS_OUTPUT and not isinstance(block.get("output"), str):
        out.append(_why("needs_output", method=method))
    if method in _ITEM_TYPES:
        items = select(instrument, block.get("items", []))
        if not items:
            out.append(_why("selects_nothing", items=repr(block.get("items"))))
        for q in items:
            if q.type not in _ITEM_TYPES[method]:
                out.append(_why("wrong_item_type", name=q.name, type=q.type, method=method,
                                allowed=", ".join(sorted(_ITEM_TYPES[method]))))
            if method in ("dsi_activities", "area_percent") and not q.competence:
                out.append(_why("no_competence", name=q.name))
    if method == "dsi_activities":
        thresholds = block.get("thresholds")
        if not isinstance(thresholds, dict) or any(
            not (isinstance(thresholds.get(a), list) and len(thresholds[a]) == 2
                 and all(isinstance(n, int) and n >= 1 for n in thresholds[a]) and thresholds[a][0] <= thresholds[a][1])
            for a in DSI_AREAS
        ):
            out.append(_why("bad_thresholds"))
    for key in ("assessed_if", "expression"):
        if block.get(key) is not None:
            out.extend(_expression(instrument, block[key], key))
    if method == "mean":
        of = block.get("of")
        names = list(of) if isinstance(of, dict | list) else []
        if not names:
            out.append(_why("of_empty"))
        out.extend(_why("not_earlier", name=n) for n in names if n not in made)
    made.update(_outputs(instrument, block))
    return out


def _expression(instrument: Instrument, src: Any, key: str) -> list[Message]:
    try:
        refs = expressions.references(str(src))
    except expressions.ExpressionError as exc:
        return [_why("bad_expression", key=key, detail=exc.message)]
    names = {q.name for q in instrument.variables} | {q.name for q in instrument.questions}
    return [_why("unknown_question", key=key, name=r) for r in sorted(refs - names)]


def _outputs(instrument: Instrument, block: dict) -> set[str]:
    """The indicator names a block produces (empty for a broken one)."""
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
