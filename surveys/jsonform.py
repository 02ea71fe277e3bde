"""The instrument as JSON for offline clients (``GET /api/v1/surveys/<slug>``).

Everything a client needs to render and validate without the server: pages, questions, types,
choices with codes, texts in every language, and relevance/constraint/calculation both as source
text and as parsed trees (see :meth:`surveys.expressions.Node.to_json`), which the form's
JavaScript evaluates with the same semantics as the server.
"""

from __future__ import annotations

from typing import Any

from surveys import areas
from surveys.expressions import parse
from surveys.questions import kind
from surveys.schema import Instrument, Page, Question

FORMAT = 1  #: bumped when the shape of this JSON changes


def instrument_to_json(instrument: Instrument) -> dict[str, Any]:
    """A JSON-serialisable description of ``instrument``."""
    return {
        "format": FORMAT,
        "slug": instrument.slug,
        "version": instrument.version,
        "languages": list(instrument.languages),
        "default_language": instrument.default_language,
        "title": instrument.title,
        "description": instrument.description,
        "pages": [_page(p) for p in instrument.pages],
        "area_codes": areas.CODE_LIST,  #: the code list of every ward code; a submission may send it back
    }


def _rule(src: str | None) -> dict[str, Any] | None:
    return None if not src else {"source": src, "tree": parse(src).to_json()}


def _page(page: Page) -> dict[str, Any]:
    return {
        "name": page.name,
        "title": page.title,
        "relevant": _rule(page.relevant),
        "questions": [_question(q) for q in page.questions],
    }


def _value_traits(q: Question) -> dict[str, Any]:
    """What the offline client reads and checks an answer as, from the type's traits, so that its code names no
    type: ``number`` ("whole", "decimal" or None: read as a number and held to ``minimum``/``maximum``),
    ``many`` (several codes ticked) and ``ward`` (a ward code: the interview's ward fills it in)."""
    question_type = kind(q.type)
    number = "whole" if question_type.whole_numbers else "decimal" if question_type.numeric else None
    return {"number": number if question_type.takes_answer else None, "many": question_type.many_codes,
            "ward": question_type.ward_code}


def _question(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": q.name,
        "type": q.type,
        "label": q.label,
        "hint": q.hint,
        "required": q.required,
        "relevant": _rule(q.relevant),
        "constraint": _rule(q.constraint),
        "constraint_message": q.constraint_message,
        "calculation": _rule(q.calculation),
        "minimum": q.minimum,
        "maximum": q.maximum,
        "competence": q.competence,
        "choices": [{"code": c.code, "label": c.label, **({"filters": c.filters} if c.filters else {})}
                    for c in q.choices],
    }
    out.update(_value_traits(q))
    out.update(kind(q.type).json(q, _question))
    if q.extra.get("choice_filter"):
        src = str(q.extra["choice_filter"])
        columns = frozenset(k for c in q.choices for k in c.filters)
        out["choice_filter"] = {"source": src, "tree": parse(src, columns).to_json()}
    return out
